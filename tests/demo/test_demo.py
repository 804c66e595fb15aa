"""The demo territory: deterministic, fictional, and in the exact source formats."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import opening_hours
import pandas as pd
import pytest
import shapely

from territory import ValidationError
from territory.demo import (
    DEMO_NAME,
    DENSITY_LABELS,
    MALFORMED_KINDS,
    STATUTS,
    DemoScale,
    DemoSources,
    write_demo_sources,
)

FILES = ("communes", "density", "qpv", "partners", "gtfs", "contacts")
SCALE = DemoScale()  # the default demo: 40 communes, 20,000 contacts, well under a second


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoSources:
    return write_demo_sources(tmp_path_factory.mktemp("demo"), scale=SCALE)


@pytest.fixture(scope="module")
def communes(demo: DemoSources) -> gpd.GeoDataFrame:
    gdf = gpd.read_file(demo.communes)
    density = pd.read_csv(demo.density, sep=";", dtype={"CODGEO": str})
    return gdf.merge(density, left_on="code", right_on="CODGEO", validate="1:1").to_crs(2154)


@pytest.fixture(scope="module")
def contacts(demo: DemoSources) -> pd.DataFrame:
    return pd.read_csv(demo.contacts, sep=";", decimal=",", encoding="utf-8-sig")


def _gtfs(demo: DemoSources) -> dict[str, pd.DataFrame]:
    with zipfile.ZipFile(demo.gtfs) as zf:
        return {n.removesuffix(".txt"): pd.read_csv(zf.open(n), dtype=str) for n in zf.namelist()}


# --- API and determinism ----------------------------------------------------------------


def test_scale_presets_and_validation() -> None:
    dep = DemoScale.departement()
    assert (dep.communes, dep.qpv, dep.partners, dep.contacts) == (1550, 160, 500, 1_000_000)
    region = DemoScale.region()
    assert (region.communes, region.qpv, region.partners) == (3996, 1600, 1500)
    assert region.contacts == 1_000_000
    assert DemoScale.named("region") == region and DemoScale.named("demo") == DemoScale()
    with pytest.raises(ValidationError, match="échelle « pays » inconnue"):
        DemoScale.named("pays")
    with pytest.raises(ValidationError, match="communes doit être entre 7 et 3996"):
        DemoScale(communes=3)
    with pytest.raises(ValidationError, match="communes doit être entre 7 et 3996"):
        DemoScale(communes=3997)


# INSEE commune code prefixes any real commune has today: the départements 01-19, 21-95
# (Corsica's 2A / 2B are letters) and the overseas 97x / 98x.
REAL_PREFIXES = {f"{d:02d}" for d in [*range(1, 20), *range(21, 96)]} | {"97", "98"}


def test_commune_codes_stay_fictional_up_to_the_regional_scale() -> None:
    from territory.demo.geography import _commune_codes

    rng = np.random.default_rng(0)
    for n in (40, 999, 1000, 1998, 1999, 3996):
        names = [f"Commune {i:04d}" for i in rng.permutation(n)]
        x = rng.uniform(0, 100_000, n)
        deps, codes = _commune_codes(x, names)
        assert len(set(codes)) == n, n
        assert all(re.fullmatch(r"\d{5}", c) for c in codes)  # the importers' check
        assert all(c[:2] == d for c, d in zip(codes, deps, strict=True))
        assert not {c[:2] for c in codes} & REAL_PREFIXES
        count = pd.Series(deps).value_counts()
        assert count.max() <= 999 and len(count) == -(-n // 999)
        # strips from west to east: 00 first, 96 last
        west_to_east = pd.Series(x).groupby(deps).mean().sort_values().index.tolist()
        assert west_to_east[0] == "00" and (n <= 999 or west_to_east[-1] == "96")
        # numbered from 001 in alphabetical order in each département
        table = pd.DataFrame({"dep": deps, "code": codes, "name": names})
        for _, group in table.groupby("dep"):
            ordered = group.sort_values("name")["code"].str[2:].astype(int).tolist()
            assert ordered == list(range(1, len(group) + 1))
    assert set(deps) == {"00", "20", "99", "96"}


def test_enough_distinct_town_names_for_the_regional_scale() -> None:
    from territory.demo.geography import TOWN_NAME, _all_town_names

    names = _all_town_names()
    assert len(set(names)) == len(names) >= DemoScale.region().communes
    assert TOWN_NAME not in names and not any(re.search(r"\d", n) for n in names)


def test_many_qpv_get_three_digit_codes_the_importer_accepts(tmp_path: Path) -> None:
    from territory.io.boundaries import read_communes, read_qpv

    scale = DemoScale(communes=60, qpv=150, partners=5, contacts=100)  # > 99 for one département
    sources = write_demo_sources(tmp_path, scale=scale)
    few = json.loads(write_demo_sources(tmp_path / "few", scale=SCALE).qpv.read_text())
    communes, read = read_communes(sources.communes)
    qpv, report = read_qpv(sources.qpv, communes=communes)
    assert read.refused == 0 and report.refused == 0 and len(qpv) > len(few["features"])
    assert qpv["code"].str.fullmatch(r"QN000\d{3}M").all() and qpv["code"].is_unique
    assert qpv["code"].iloc[0] == "QN000001M"


def test_same_seed_same_bytes_other_seed_other_bytes(demo: DemoSources, tmp_path: Path) -> None:
    again = write_demo_sources(tmp_path / "again", scale=SCALE)
    other = write_demo_sources(tmp_path / "other", seed=7, scale=SCALE)
    for name in FILES:
        first = getattr(demo, name).read_bytes()
        assert getattr(again, name).read_bytes() == first, name
        assert getattr(other, name).read_bytes() != first, name
    assert again.malformed == demo.malformed


def test_names_say_fictional(demo: DemoSources) -> None:
    assert demo.territory_name == DEMO_NAME
    assert "fictif" in demo.territory_name
    assert {p.name for p in (getattr(demo, n) for n in FILES)} == {
        "communes.geojson", "densite.csv", "qpv.geojson", "partenaires.csv", "gtfs.zip",
        "contacts.csv",
    }  # fmt: skip


def test_tiny_scale_without_qpv_still_writes_everything(tmp_path: Path) -> None:
    scale = DemoScale(communes=7, qpv=0, partners=3, contacts=50, months=1)
    sources = write_demo_sources(tmp_path, scale=scale)
    assert json.loads(sources.qpv.read_text(encoding="utf-8"))["features"] == []
    assert len(pd.read_csv(sources.contacts, sep=";", encoding="utf-8-sig")) == 50
    assert sources.malformed == {}


# --- communes and density -----------------------------------------------------------------


def test_communes_follow_the_geo_api_schema(demo: DemoSources) -> None:
    raw = json.loads(demo.communes.read_text(encoding="utf-8"))
    assert raw["type"] == "FeatureCollection" and "crs" not in raw
    props = pd.DataFrame([f["properties"] for f in raw["features"]])
    assert list(props.columns) == ["nom", "code", "population", "codeEpci", "codeDepartement"]
    assert len(props) == SCALE.communes
    assert props["code"].str.fullmatch(r"00\d{3}").all() and props["code"].is_unique
    assert props["nom"].is_unique
    assert (props["codeDepartement"] == "00").all()
    assert props["codeEpci"].str.fullmatch(r"2000000\d\d").all()
    assert 2 <= props["codeEpci"].nunique() <= 3
    assert props["population"].map(type).eq(int).all()
    assert props["population"].max() > 20_000 and props["population"].min() < 300
    assert {f["geometry"]["type"] for f in raw["features"]} <= {"Polygon", "MultiPolygon"}
    decimals = re.findall(r"\d\.(\d+)[,\]]", demo.communes.read_text(encoding="utf-8")[:50_000])
    assert max(len(d) for d in decimals) == 6


def test_communes_form_a_valid_coverage(communes: gpd.GeoDataFrame) -> None:
    geoms = communes.geometry.to_numpy()
    assert shapely.is_valid(geoms).all()
    union = shapely.union_all(geoms)
    assert union.geom_type == "Polygon" and len(union.interiors) == 0  # no gap, one piece
    assert shapely.area(geoms).sum() == pytest.approx(union.area, rel=1e-6)  # no overlap
    assert 600e6 < union.area < 1_500e6  # roughly 40 km x 30 km
    lon, lat = communes.to_crs(4326).union_all().centroid.coords[0]
    assert abs(lon - 2.75) < 0.1 and abs(lat - 46.45) < 0.1


def test_density_file_has_every_level_decreasing_outwards(
    demo: DemoSources, communes: gpd.GeoDataFrame
) -> None:
    text = demo.density.read_text(encoding="utf-8")
    assert text.startswith("CODGEO;LIBGEO;DENS;LIBDENS;PMUN\n")
    assert set(communes["DENS"]) == set(range(1, 8))
    assert (communes["LIBDENS"] == communes["DENS"].map(DENSITY_LABELS)).all()
    assert (communes["LIBGEO"] == communes["nom"]).all()
    assert (communes["PMUN"] == communes["population"]).all()
    town = communes.loc[communes["population"].idxmax()]
    assert town["DENS"] == 1 and town["nom"] == "Ardoise-la-Ville"
    dist = communes.centroid.distance(communes[communes["DENS"] <= 2].union_all())
    assert dist.rank().corr(communes["DENS"].rank()) > 0.45  # Spearman, to the nearest town
    urban = communes["DENS"] <= 3
    assert communes.area[urban].median() < communes.area[~urban].median()


# --- QPV ------------------------------------------------------------------------------------


def test_qpv_follow_the_2024_schema_inside_urban_communes(
    demo: DemoSources, communes: gpd.GeoDataFrame
) -> None:
    qpv = gpd.read_file(demo.qpv).to_crs(2154)
    assert list(qpv.columns[:-1]) == [
        "code_qp", "lib_qp", "insee_reg", "lib_reg", "insee_dep", "lib_dep", "insee_com",
        "lib_com", "siren_epci",
    ]  # fmt: skip
    assert len(qpv) == SCALE.qpv
    assert qpv["code_qp"].str.fullmatch(r"QN000\d\dM").all() and qpv["code_qp"].is_unique
    assert qpv["lib_qp"].str.endswith("– Fictif").all()
    assert (qpv["insee_dep"] == "00").all()
    assert qpv.area.between(30e4, 120e4).all()  # 30-120 ha
    urban = communes[communes["DENS"] <= 3].union_all()
    assert (qpv.difference(urban).area < 1.0).all()
    codes = qpv["insee_com"].str.split(", ")
    assert codes.explode().isin(communes["code"]).all()
    assert (codes.str.len() == 2).sum() == 1  # one QPV spans two communes
    names = dict(zip(communes["code"], communes["nom"], strict=True))
    assert (codes.map(lambda cs: ", ".join(names[c] for c in cs)) == qpv["lib_com"]).all()
    for code_list, geom in zip(codes, qpv.geometry, strict=True):  # the codes are the overlaps
        hit = communes[communes.intersection(geom).area > 0.01 * geom.area]
        assert set(hit["code"]) == set(code_list)
    assert not qpv.overlaps(qpv.union_all()).any()


# --- partners -------------------------------------------------------------------------------


def test_partners_in_french_csv_with_two_to_geocode(
    demo: DemoSources, communes: gpd.GeoDataFrame
) -> None:
    raw = demo.partners.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfnom;typologie;adresse;code_postal;commune;code_insee;")
    table = pd.read_csv(demo.partners, sep=";", encoding="utf-8-sig", dtype=str)
    assert list(table.columns) == [
        "nom", "typologie", "adresse", "code_postal", "commune", "code_insee", "latitude",
        "longitude", "horaires_accueil", "telephone",
    ]  # fmt: skip
    assert len(table) == SCALE.partners and table["nom"].is_unique
    assert set(table["typologie"]) == {
        "ML", "FT", "CS", "E2C", "PREVENTION", "PIJ_BIJ", "FRANCE_SERVICES",
    }  # fmt: skip
    missing = table["latitude"].isna()
    assert missing.sum() == 2 and table.loc[missing, "longitude"].isna().all()
    assert table[["nom", "adresse", "code_postal", "commune", "code_insee"]].notna().all().all()
    located = table[~missing]
    assert located["latitude"].str.fullmatch(r"4\d,\d{6}").all()
    lon = located["longitude"].str.replace(",", ".").astype(float)
    lat = located["latitude"].str.replace(",", ".").astype(float)
    points = gpd.GeoDataFrame(located, geometry=gpd.points_from_xy(lon, lat), crs=4326)
    joined = points.to_crs(2154).sjoin(communes[["code", "DENS", "geometry"]], predicate="within")
    assert (joined["code"] == joined["code_insee"]).all() and len(joined) == len(located)
    assert (joined["DENS"] <= 3).mean() > 0.6 and (joined["DENS"] >= 4).any()  # town + bourgs
    for hours in table["horaires_accueil"]:
        opening_hours.OpeningHours(hours)  # raises on invalid syntax
    assert table["horaires_accueil"].nunique() >= 8
    assert table["telephone"].str.fullmatch(r"01 99 00 \d\d \d\d").all()


# --- GTFS -----------------------------------------------------------------------------------


def test_gtfs_is_consistent(demo: DemoSources) -> None:
    feed = _gtfs(demo)
    assert {"agency", "stops", "routes", "trips", "stop_times", "calendar"} <= set(feed)
    assert feed["agency"].loc[0, "agency_name"] == "Réseau fictif de l'Ardoise"
    assert feed["trips"]["route_id"].isin(feed["routes"]["route_id"]).all()
    assert feed["trips"]["service_id"].isin(feed["calendar"]["service_id"]).all()
    assert feed["stop_times"]["trip_id"].isin(feed["trips"]["trip_id"]).all()
    assert feed["stop_times"]["stop_id"].isin(feed["stops"]["stop_id"]).all()
    assert feed["trips"]["trip_id"].is_unique and feed["stops"]["stop_id"].is_unique
    st = feed["stop_times"]
    assert st["arrival_time"].str.fullmatch(r"\d\d:[0-5]\d:00").all()
    seconds = pd.to_timedelta(st["departure_time"]).dt.total_seconds()
    seq = st["stop_sequence"].astype(int)
    assert (seq.groupby(st["trip_id"]).diff().dropna() == 1).all()
    assert (seconds.groupby(st["trip_id"]).diff().dropna() >= 0).all()
    assert st.groupby("trip_id").size().min() >= 2
    cal = feed["calendar"].set_index("service_id")
    assert set(cal["start_date"]) == {"20250901"} and set(cal["end_date"]) == {"20270831"}
    assert 60 <= len(feed["stops"]) <= 120


def test_gtfs_frequent_in_town_rare_in_the_countryside(
    demo: DemoSources, communes: gpd.GeoDataFrame
) -> None:
    feed = _gtfs(demo)
    trips = feed["trips"].merge(feed["routes"], on="route_id")
    rural = trips["route_short_name"].str.startswith("R")
    per_day = trips.groupby([rural, "service_id", "route_id", "direction_id"]).size()
    town, country = per_day.loc[False], per_day.loc[True]
    assert town.loc["SEM"].min() >= 45  # every 10-20 min from 6 h to 21 h
    assert (town.loc["SAM"] < town.loc["SEM"]).all()
    assert town.loc["DIM"].sum() < town.loc["SAM"].sum()
    assert country.loc["SEM"].between(3, 4).all()  # a few buses a day
    assert "DIM" not in country.index.get_level_values("service_id")
    stops = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(
            feed["stops"]["stop_lon"].astype(float), feed["stops"]["stop_lat"].astype(float)
        ),
        crs=4326,
    ).to_crs(2154)
    territory = communes.union_all()
    assert stops.within(territory).all()
    uncovered = territory.difference(stops.buffer(2000).union_all()).area / territory.area
    assert uncovered > 0.3  # mobility barriers: large areas with no stop within 2 km


# --- contacts -------------------------------------------------------------------------------


def test_contacts_export_format(demo: DemoSources, contacts: pd.DataFrame) -> None:
    assert demo.contacts.read_bytes().startswith(b"\xef\xbb\xbfdate_contact;longitude;latitude;")
    assert list(contacts.columns) == [
        "date_contact", "longitude", "latitude", "statut", "tranche_age", "sexe",
        "partenaire_orientation", "id_personne", "commentaire",
    ]  # fmt: skip
    assert len(contacts) == SCALE.contacts
    assert contacts["longitude"].dtype == float and contacts["latitude"].dtype == float
    first = demo.contacts.read_text(encoding="utf-8-sig").splitlines()[1]
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d;\d,\d{6};4\d,\d{6};[^;]+;.*", first)
    assert set(contacts["tranche_age"]) == {"16-17", "18-21", "22-25", "26-29"}
    assert set(contacts["sexe"].dropna()) == {"F", "H"} and contacts["sexe"].isna().any()
    assert set(contacts["partenaire_orientation"].dropna()) == {
        "mission locale", "France Travail", "centre social", "E2C",
    }  # fmt: skip
    assert contacts["id_personne"].str.fullmatch(r"P\d{6}").all()
    assert contacts["id_personne"].nunique() < 0.6 * len(contacts)  # people met several times
    assert 0.02 < contacts["commentaire"].notna().mean() < 0.2


def test_contacts_statuses_and_rhythm(contacts: pd.DataFrame) -> None:
    shares = contacts["statut"].value_counts(normalize=True)
    assert set(shares.index) == {*STATUTS, "à recontacter"}
    assert 0.15 < shares["hors radars"] < 0.25
    assert shares["premier contact"] > shares["entrée en parcours"] > shares["sortie positive"]
    when = pd.to_datetime(contacts["date_contact"], format="%d/%m/%Y %H:%M", errors="coerce")
    when = when.dropna()
    assert when.min() >= pd.Timestamp("2025-11-01") and when.max() < pd.Timestamp("2026-11-01")
    per_weekday = when.dt.day_of_week.value_counts() / when.dt.normalize().drop_duplicates(
    ).dt.day_of_week.value_counts()  # fmt: skip
    assert per_weekday[2] > per_weekday[0] and per_weekday[5] > per_weekday[0]  # We, Sa busy
    assert per_weekday[6] < 0.5 * per_weekday[[0, 1, 3, 4]].min()  # quiet Sundays
    hour = when.dt.hour
    assert hour.between(14, 19).mean() > 0.5 and hour.between(0, 5).mean() < 0.03
    days = when.dt.normalize().drop_duplicates()
    per_day = when.dt.month.value_counts() / days.dt.month.value_counts()
    assert per_day[8] < 0.6 * per_day.drop(8).median()  # summer break


def test_contacts_cluster_in_town_and_thin_out_in_the_countryside(
    contacts: pd.DataFrame, communes: gpd.GeoDataFrame
) -> None:
    ok = contacts.dropna(subset=["longitude", "latitude"])
    points = gpd.GeoDataFrame(
        ok, geometry=gpd.points_from_xy(ok["longitude"], ok["latitude"]), crs=4326
    )
    joined = points.to_crs(2154).sjoin(communes[["DENS", "geometry"]], predicate="within")
    xy = shapely.get_coordinates(joined.to_crs(3035).geometry)
    joined["cell"] = [f"{x}_{y}" for x, y in (xy // 200).astype(int)]
    size = joined.groupby("cell")["cell"].transform("size")
    urban = joined["DENS"] <= 3
    assert (size[urban] >= 11).mean() > 0.6  # most urban contacts in 200 m cells >= k
    assert (size[joined["DENS"] >= 6] >= 11).mean() < 0.2  # rural ones must roll up
    assert urban.mean() > 0.6 and (joined["DENS"] >= 6).mean() > 0.03


def test_malformed_rows_are_few_and_of_the_documented_kinds(
    demo: DemoSources, contacts: pd.DataFrame, communes: gpd.GeoDataFrame
) -> None:
    k = round(SCALE.contacts * 0.001)
    assert demo.malformed == dict.fromkeys(MALFORMED_KINDS, k)
    when = pd.to_datetime(contacts["date_contact"], format="%d/%m/%Y %H:%M", errors="coerce")
    assert when.isna().sum() == k
    assert (
        contacts.loc[when.isna(), "date_contact"].str.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d").all()
    )
    assert (contacts["longitude"].isna() & contacts["latitude"].isna()).sum() == k
    assert (contacts["longitude"] > 40).sum() == k  # latitude in the longitude column
    assert (contacts["statut"] == "à recontacter").sum() == k
    lon0, lat0, lon1, lat1 = communes.to_crs(4326).total_bounds
    outside = ~contacts["longitude"].between(lon0, lon1) | ~contacts["latitude"].between(lat0, lat1)
    assert (outside & contacts["longitude"].notna()).sum() == 2 * k  # elsewhere + swapped
    assert sum(demo.malformed.values()) / len(contacts) <= 0.006
