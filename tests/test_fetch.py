"""Fetching a real territory, on recorded answers of the official sources (no real network).

The recorded answers are in ``tests/data/recorded`` (see its README); the GTFS feed, the
QPV 2015 shapefile zip and the INSEE density workbook are built here, in their real
formats, because they are binary.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio
import pytest
import requests
import responses
import shapely
from ban_sample import CALVADOS, ban_csv
from samples import density_xlsx

from territory import Settings, ValidationError
from territory.fetch import TOKEN_ENV, fetch_territory, select_communes
from territory.io import _http, sources
from territory.io._http import NetworkError
from territory.io.sources import SOURCES
from territory.store import Workspace

RECORDED = Path(__file__).parent / "data" / "recorded"
DATAGOUV_QPV = SOURCES["qpv2024"].url
QPV2024_URL = (
    "https://static.data.gouv.fr/resources/quartiers-prioritaires-de-la-politique-de-la-ville-qpv/"
    "20240822-094712/qp2024-france-hexagonale-outre-mer-wgs84.geojson"
)
QPV2015_URL = (
    "https://static.data.gouv.fr/resources/quartiers-prioritaires-de-la-politique-de-la-ville-qpv/"
    "20150622-160316/qp-politiquedelaville-shp.zip"
)
GTFS_URL = "https://transport.data.gouv.fr/resources/80931/download"
CAEN_LA_MER = "200065597"


def recorded(name: str) -> bytes:
    return (RECORDED / name).read_bytes()


# ------------------------------------------------------------------ binary answers
def gtfs_zip() -> bytes:
    """A small Twisto-like feed: three stops in Caen and Hérouville, two trips a weekday."""
    files = {
        "agency.txt": "agency_id,agency_name,agency_url,agency_timezone\n"
        "TWISTO,Twisto,https://www.twisto.fr,Europe/Paris\n",
        "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\n"
        "CHV,Chemin Vert,49.1925,-0.3910\nTHE,Théâtre,49.1850,-0.3600\n"
        "GPA,Grand Parc,49.2040,-0.3240\n",
        "routes.txt": "route_id,agency_id,route_short_name,route_long_name,route_type\n"
        "T2,TWISTO,T2,Chemin Vert - Grand Parc,0\n",
        "trips.txt": "route_id,service_id,trip_id\nT2,SEM,T2-1\nT2,SEM,T2-2\n",
        "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "T2-1,07:00:00,07:00:00,CHV,1\nT2-1,07:12:00,07:12:00,THE,2\n"
        "T2-1,07:25:00,07:25:00,GPA,3\nT2-2,17:00:00,17:00:00,GPA,1\n"
        "T2-2,17:13:00,17:13:00,THE,2\nT2-2,17:25:00,17:25:00,CHV,3\n",
        "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
        "start_date,end_date\nSEM,1,1,1,1,1,0,0,20260831,20270704\n",
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buffer.getvalue()


def qpv2015_zip(tmp_path: Path) -> bytes:
    """The official 2015 zip layout: several shapefiles, QP_METROPOLE_LB93 in Lambert-93."""
    folder = tmp_path / "qp2015"
    folder.mkdir()
    chemin_vert = shapely.box(-0.397, 49.188, -0.385, 49.197)
    metro = gpd.GeoDataFrame(
        {"CODE_QP": ["QP014003"], "NOM_QP": ["Chemin Vert"], "COMMUNE_QP": ["Caen"]},
        geometry=[chemin_vert],
        crs=4326,
    ).to_crs(2154)
    guadeloupe = gpd.GeoDataFrame(
        {"CODE_QP": ["QP971001"], "NOM_QP": ["Carénage"], "COMMUNE_QP": ["Pointe-à-Pitre"]},
        geometry=[shapely.box(-61.54, 16.23, -61.53, 16.24)],
        crs=4326,
    ).to_crs(32620)
    pyogrio.write_dataframe(guadeloupe, folder / "QP_GUADELOUPE_UTM20.shp")
    pyogrio.write_dataframe(metro, folder / "QP_METROPOLE_LB93.shp")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, path.name)
    return buffer.getvalue()


# ------------------------------------------------------------------------ fixtures
@pytest.fixture
def settings(tmp_path: Path, settings: Settings) -> Settings:
    return dataclasses.replace(settings, cache_dir=tmp_path / "cache")


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace.create(tmp_path / "caen.gpkg", name="Caen la Mer")


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    recorded_waits: list[float] = []
    monkeypatch.setattr(_http, "_sleep", recorded_waits.append)
    return recorded_waits


@pytest.fixture
def official(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> responses.RequestsMock:
    """Every official source answering with its recorded (or built) answer."""
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(
            SOURCES["communes"].url_for(dep="14"), body=recorded("geo_api_communes_14.geojson")
        )
        mock.get(SOURCES["density"].url, body=density_xlsx())
        mock.get(DATAGOUV_QPV, body=recorded("datagouv_qpv_dataset.json"))
        mock.get(QPV2024_URL, body=recorded("qpv_2024_wgs84.geojson"))
        mock.get(QPV2015_URL, body=qpv2015_zip(tmp_path))
        mock.get(SOURCES["france_services"].url, body=recorded("liste-fs-extract.csv"))
        mock.get(
            SOURCES["data_inclusion"].url, body=recorded("data_inclusion_search_services.json")
        )
        mock.get(SOURCES["transport"].url, body=recorded("transport_datasets.json"))
        mock.get(GTFS_URL, body=gtfs_zip())
        mock.get(SOURCES["ban"].url_for(dep="14"), body=gzip.compress(ban_csv().encode()))
        yield mock


def _notes(reports: list[Any], kind: str) -> str:
    return " | ".join(n for r in reports if r.kind == kind for n in r.notes)


# --------------------------------------------------------------------------- tests
def test_fetched_communes_land_with_population_and_epci(
    official: responses.RequestsMock, ws: Workspace, settings: Settings
) -> None:
    said: list[str] = []
    reports = fetch_territory(
        ws, departement="14", epci=[CAEN_LA_MER], settings=settings, progress=said.append
    )
    communes = ws.read_layer("communes").set_index("code")
    assert sorted(communes.index) == ["14118", "14327"]  # Évrecy is in another EPCI
    assert communes.loc["14118", "population"] == 109400
    assert set(communes["epci"]) == {CAEN_LA_MER}
    assert communes.loc["14118", "densite_libelle"] == "Grands centres urbains"
    assert "2 commune(s) gardée(s) sur 3" in _notes(reports, "communes")
    assert "grille à 7 niveaux" in _notes(reports, "density")
    info = ws.layers()
    assert info["communes"].licence == sources.LICENCE_OUVERTE
    assert info["communes"].vintage.startswith("COG en vigueur au ")
    assert info["qpv"].vintage == "QPV 2015 (2015-06-22)"
    assert info["stops"].licence == "ODbL 1.0"
    assert any(m.startswith("Téléchargement : communes") for m in said)
    assert all(r.read for r in reports), [r.to_text() for r in reports]


def test_qpv_of_both_generations_are_cut_to_the_territory(
    official: responses.RequestsMock, ws: Workspace, settings: Settings
) -> None:
    reports = fetch_territory(ws, departement="14", epci=[CAEN_LA_MER], settings=settings)
    qpv = ws.read_layer("qpv").set_index("code")
    # Charlotte Corday lies outside both communes, Lille Sud outside the box, Guadeloupe
    # is another shapefile of the zip.
    assert sorted(qpv.index) == ["QN01403M", "QP014003"]
    assert qpv.loc["QN01403M", "generation"] == 2024
    assert qpv.loc["QP014003", "communes"] == "14118"  # 2015 names matched to codes
    assert "QP2024_France_Hexagonale_Outre_Mer_WGS84" in _notes(reports, "qpv")
    dataset_calls = [c for c in official.calls if c.request.url == DATAGOUV_QPV]
    assert len(dataset_calls) == 1  # the second generation reads the cached dataset answer


def test_partners_merge_france_services_and_data_inclusion(
    official: responses.RequestsMock, ws: Workspace, settings: Settings
) -> None:
    reports = fetch_territory(ws, departement="14", epci=[CAEN_LA_MER], settings=settings)
    partners = ws.read_layer("partners").set_index("nom")
    assert sorted(partners["type"]) == ["CS", "FRANCE_SERVICES", "FRANCE_SERVICES", "ML"]
    assert "France services Evrecy" not in partners.index
    assert partners.loc["Mission locale Caen la Mer Calvados Centre", "horaires"] == (
        "Mo-Fr 08:30-12:30,13:30-17:30; PH closed"
    )
    assert partners.loc["Centre socioculturel du Grand Parc", "horaires"] == "Tu,Th 14:00-18:00"
    assert partners.loc["France services Caen Pierre Heuzé", "horaires"].startswith("Mo-Fr 09:00")
    assert (partners["statut"] == "fourni").all()
    search = next(
        c for c in official.calls if c.request.url.startswith(SOURCES["data_inclusion"].url)
    )
    assert "code_commune=14118" in search.request.url  # the most populated commune anchors
    assert "Authorization" not in search.request.headers
    assert "2 France services" in _notes(reports, "partners")


def test_the_data_inclusion_token_is_sent_when_set(
    official: responses.RequestsMock,
    ws: Workspace,
    settings: Settings,
) -> None:
    settings = dataclasses.replace(settings, data_inclusion_token="jeton-de-test")
    fetch_territory(ws, departement="14", communes=["14118"], settings=settings)
    search = next(
        c for c in official.calls if c.request.url.startswith(SOURCES["data_inclusion"].url)
    )
    assert search.request.headers["Authorization"] == "Bearer jeton-de-test"


def test_stops_come_from_the_network_covering_the_territory(
    official: responses.RequestsMock, ws: Workspace, settings: Settings
) -> None:
    reports = fetch_territory(ws, departement="14", epci=[CAEN_LA_MER], settings=settings)
    stops = ws.read_layer("stops")
    assert sorted(stops["nom"]) == ["Chemin Vert", "Grand Parc", "Théâtre"]
    assert ws.has("service_gaps")
    notes = _notes(reports, "gtfs")
    assert "Réseau urbain Twisto" in notes and "Nomad" not in notes
    assert ws.layers()["stops"].source == "gtfs-reseau-urbain-twisto.zip"
    assert set(stops["reseau"]) == {"Réseau urbain Twisto"}  # the dataset's title


def test_a_failing_source_does_not_stop_the_others(
    official: responses.RequestsMock, ws: Workspace, settings: Settings, waits: list[float]
) -> None:
    official.replace(responses.GET, SOURCES["density"].url, status=404)
    official.replace(responses.GET, SOURCES["transport"].url, status=503)
    reports = fetch_territory(ws, departement="14", epci=[CAEN_LA_MER], settings=settings)
    by_kind = {r.kind: r for r in reports}
    assert "non importé : www.insee.fr : ressource introuvable (HTTP 404)" in _notes(
        reports, "density"
    )
    assert by_kind["gtfs"].read == 0
    assert "transport.data.gouv.fr ne répond pas correctement : HTTP 503" in _notes(reports, "gtfs")
    assert len(waits) == _http.MAX_ATTEMPTS - 1
    assert {"communes", "qpv", "partners"} <= set(ws.layers())
    assert not ws.has("stops") and not ws.has("density_classes")
    assert ws.read_layer("communes")["densite"].isna().all()


def test_a_partner_source_failing_keeps_the_other(
    official: responses.RequestsMock, ws: Workspace, settings: Settings
) -> None:
    official.replace(responses.GET, SOURCES["data_inclusion"].url, status=401)
    reports = fetch_territory(ws, departement="14", epci=[CAEN_LA_MER], settings=settings)
    assert set(ws.read_layer("partners")["type"]) == {"FRANCE_SERVICES"}
    notes = _notes(reports, "partners")
    assert "data·inclusion non téléchargé" in notes and TOKEN_ENV in notes


def test_the_next_feed_is_tried_when_the_best_one_cannot_be_downloaded(
    official: responses.RequestsMock, ws: Workspace, settings: Settings
) -> None:
    official.replace(responses.GET, GTFS_URL, status=404)
    official.get("https://transport.data.gouv.fr/resources/70001/download", body=gtfs_zip())
    reports = fetch_territory(
        ws, departement="14", epci=[CAEN_LA_MER], communes=["14257"], settings=settings
    )
    assert "flux Réseau urbain Twisto non téléchargé" in _notes(reports, "gtfs")
    assert ws.layers()["stops"].source == "gtfs-tad-vallees-orne-odon.zip"


def test_every_feed_covering_the_territory_is_its_own_network(
    official: responses.RequestsMock, ws: Workspace, settings: Settings
) -> None:
    """Caen la Mer and Évrecy: the urban network and the on-demand service, both kept."""
    official.get("https://transport.data.gouv.fr/resources/70001/download", body=gtfs_zip())
    reports = fetch_territory(
        ws, departement="14", epci=[CAEN_LA_MER], communes=["14257"], settings=settings
    )
    gtfs = [r for r in reports if r.kind == "gtfs"]
    assert len(gtfs) == 2 and all(r.accepted and r.batch for r in gtfs)
    stops = ws.read_layer("stops")
    networks = stops.groupby("reseau")["nom"].apply(sorted).to_dict()
    assert networks == {
        "Réseau urbain Twisto": ["Chemin Vert", "Grand Parc", "Théâtre"],
        "Transport à la demande des Vallées de l'Orne et de l'Odon": [
            "Chemin Vert",
            "Grand Parc",
            "Théâtre",
        ],
    }
    assert stops["stop_id"].is_unique  # the same ids in both feeds, prefixed by network
    notes = _notes(reports, "gtfs")
    assert "réseau : Réseau urbain Twisto" in notes and "non importé" not in notes
    assert ws.has("service_gaps")


def test_an_unreadable_download_is_dropped_from_the_cache(
    official: responses.RequestsMock, ws: Workspace, settings: Settings
) -> None:
    official.replace(responses.GET, SOURCES["density"].url, body=b"<html>maintenance</html>")
    reports = fetch_territory(ws, departement="14", epci=[CAEN_LA_MER], settings=settings)
    assert "fichier téléchargé illisible" in _notes(reports, "density")
    assert not _http.cache_path(SOURCES["density"].url, settings=settings).exists()


def test_offline_everywhere_raises_one_french_error(
    ws: Workspace, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    with responses.RequestsMock() as mock:
        mock.add_callback(responses.GET, re.compile(r"https://.*"), callback=_offline)
        with pytest.raises(NetworkError) as info:
            fetch_territory(ws, departement="14", settings=settings)
    message = str(info.value)
    assert message.startswith("aucune source n'a pu être téléchargée : communes (geo.api.gouv.fr)")
    assert "hors ligne ? les fichiers déjà téléchargés restent utilisables" in message
    assert not ws.has("communes")
    assert [p.name for p in Path(settings.cache_dir).iterdir()] == ["territoires"]  # no answer


def _offline(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
    raise requests.ConnectionError(f"Failed to resolve {request.url}")


def test_the_departements_ban_is_downloaded_and_imported(
    official: responses.RequestsMock, ws: Workspace, settings: Settings
) -> None:
    reports = fetch_territory(ws, departement="14", epci=[CAEN_LA_MER], settings=settings)
    report = next(r for r in reports if r.kind == "ban")
    assert (report.read, report.accepted) == (len(CALVADOS), len(CALVADOS))
    info = ws.layers()["ban_adresses"]
    assert info.source == "adresses-14.csv.gz" and info.vintage.startswith("14 : BAN au ")
    assert (Path(settings.cache_dir) / "territoires" / "14" / "adresses-14.csv.gz").is_file()
    assert [r.kind for r in reports].index("ban") < [r.kind for r in reports].index("partners")


def test_an_unreachable_ban_is_one_french_line_and_the_rest_goes_on(
    official: responses.RequestsMock, ws: Workspace, settings: Settings
) -> None:
    official.replace(
        responses.GET,
        SOURCES["ban"].url_for(dep="14"),
        body=requests.ConnectionError("Failed to resolve adresse.data.gouv.fr"),
    )
    said: list[str] = []
    reports = fetch_territory(
        ws, departement="14", epci=[CAEN_LA_MER], settings=settings, progress=said.append
    )
    failed = [m for m in said if m.startswith("Échec : adresses du département")]
    assert failed == [
        (
            "Échec : adresses du département (Base Adresse Nationale) : adresse.data.gouv.fr ne "
            "répond pas : connexion impossible (hors ligne ? les fichiers déjà téléchargés "
            "restent utilisables)"
        )
    ]
    assert "\n" not in failed[0]
    assert _notes(reports, "ban").startswith("non importé : adresse.data.gouv.fr ne répond pas")
    assert not ws.has("ban_adresses") and ws.has("partners") and ws.has("stops")


def test_codes_are_checked_before_any_download(ws: Workspace, settings: Settings) -> None:
    with pytest.raises(ValidationError) as info:
        fetch_territory(ws, departement="140", epci=["2000"], communes=["1418"], settings=settings)
    assert info.value.problems == [
        "code département invalide : « 140 »",
        "code EPCI invalide : « 2000 »",
        "code commune invalide : « 1418 »",
    ]


# ------------------------------------------------------------------ answer readers
def test_select_communes_keeps_epci_and_communes_and_names_the_unknown() -> None:
    collection = json.loads(recorded("geo_api_communes_14.geojson"))
    kept, notes = select_communes(collection, epci=["200066728"], communes=["14327", "14999"])
    assert [f["properties"]["code"] for f in kept["features"]] == ["14327", "14257"]
    assert "2 commune(s) gardée(s) sur 3" in notes[0]
    assert notes[1] == "codes introuvables dans le département : 14999"
    assert select_communes(collection, epci=[], communes=[]) == (collection, [])
    with pytest.raises(ValidationError, match="aucune commune du département"):
        select_communes(collection, epci=["200093201"], communes=[])


def test_pick_resource_prefers_the_wgs84_geojson_and_finds_the_2015_zip() -> None:
    dataset = json.loads(recorded("datagouv_qpv_dataset.json"))
    rule_2024, rule_2015 = SOURCES["qpv2024"].rule, SOURCES["qpv2015"].rule
    assert rule_2024 is not None and rule_2015 is not None
    assert sources.pick_resource(dataset, rule_2024).url == QPV2024_URL
    chosen = sources.pick_resource(dataset, rule_2015)
    assert (chosen.url, chosen.modified[:10]) == (QPV2015_URL, "2015-06-22")
    with pytest.raises(sources.InputFileError, match=r"ressources : listeqp2024-cog2024\.csv"):
        sources.pick_resource({"resources": dataset["resources"][:1]}, rule_2024)


def test_inclusion_places_read_structures_and_networks() -> None:
    rows = sources.inclusion_places(json.loads(recorded("data_inclusion_search_services.json")))
    assert [(r["nom"], r["typologie"], r["code_insee"]) for r in rows] == [
        ("Mission locale Caen la Mer Calvados Centre", "ML", "14118"),
        ("Centre socioculturel du Grand Parc", "CS", "14327"),
    ]
    assert rows[1]["horaires_accueil"] == "Tu,Th 14:00-18:00"  # the service's, structure has none
    assert (
        rows[1]["adresse"]
        == "Place du Marché, Quartier du Grand Parc, 14200 Hérouville-Saint-Clair"
    )
    v0 = {"items": [{"service": {"nom": "PIJ", "typologie": "PIJ_BIJ", "code_insee": "14118"}}]}
    assert sources.inclusion_places(v0)[0]["typologie"] == "PIJ_BIJ"
    with pytest.raises(sources.InputFileError, match="items"):
        sources.inclusion_places({"detail": "Not authenticated"})


def test_gtfs_feeds_match_current_and_older_answer_shapes() -> None:
    answer = json.loads(recorded("transport_datasets.json"))
    caen = {("epci", CAEN_LA_MER), ("commune", "14118"), ("departement", "14")}
    feeds = sources.gtfs_feeds(answer, caen)
    assert [(d["slug"], r["url"]) for d, r in feeds] == [("reseau-urbain-twisto", GTFS_URL)]
    evrecy = {("commune", "14257"), ("departement", "14")}
    assert [d["slug"] for d, _ in sources.gtfs_feeds(answer, evrecy)] == ["tad-vallees-orne-odon"]
    assert sources.gtfs_feeds({"data": answer}, {("region", "28")}) == []


def test_france_services_rows_convert_weekday_hours() -> None:
    import pandas as pd

    table = pd.read_csv(RECORDED / "liste-fs-extract.csv", dtype=str, keep_default_na=False)
    rows = sources.france_services_rows(table)
    assert [r["code_insee"] for r in rows] == ["14118", "14257", "14327"]
    assert rows[1]["adresse"] == "4 rue du Colonel Arnaud Beltrame, BP 3, 14210 Évrecy"
    assert rows[1]["horaires_accueil"].startswith("Mo,We,Fr 09:00-12:30,14:00-17:00")


def test_osm_places_of_the_fetched_communes(
    official: responses.RequestsMock, ws: Workspace, settings: Settings
) -> None:
    """One Overpass query over the communes' box; what falls outside them is refused."""
    from urllib.parse import parse_qs, urlsplit

    from territory.fetch import fetch_places
    from territory.rounds.week import candidate_places

    fetch_territory(ws, departement="14", epci=[CAEN_LA_MER], settings=settings)
    communes = ws.read_layer("communes").set_index("code")
    inside = communes.geometry["14327"].representative_point()
    west, south, east, north = communes.total_bounds
    answer = {
        "elements": [
            {
                "type": "node",
                "id": 1,
                "lat": inside.y,
                "lon": inside.x,
                "tags": {"amenity": "youth_centre", "name": "Espace jeunes"},
            },
            {  # in the box, in no commune of the workspace (a corner of the box)
                "type": "node",
                "id": 2,
                "lat": north - 1e-4,
                "lon": west + 1e-4,
                "tags": {"leisure": "park"},
            },
        ]
    }
    official.get(SOURCES["osm_places"].url, json=answer)
    report = fetch_places(ws, settings=settings)
    sent = [c.request.url for c in official.calls if "overpass" in c.request.url]
    query = parse_qs(urlsplit(sent[0]).query)["data"][0]
    assert len(sent) == 1 and f"({south:.5f},{west:.5f},{north:.5f},{east:.5f})" in query
    assert (report.read, report.accepted, report.refused) == (2, 1, 1)
    assert report.refusals[0].reason == "hors du territoire (aucune commune)"
    place = candidate_places(ws).set_index("id").loc["osm-node-1"]
    assert (place["type"], place["zone"]) == ("maison de quartier / jeunesse", "14327")
