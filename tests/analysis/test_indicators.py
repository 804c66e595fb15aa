"""Zone indicators: pure functions aligned on the zones, contacts only through protect()."""

from __future__ import annotations

import doctest
from datetime import date, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import shared_file

import territory.analysis.indicators as indicators_module
from territory import Settings
from territory._errors import CRSError, ValidationError
from territory._fr import format_distance, format_duration
from territory.analysis.access import (
    departures_per_day,
    departures_per_hour,
    mobility_barrier,
    open_partners,
    partner_distance,
    rural_zones,
    served_stop_distance,
    travel_time,
)
from territory.analysis.indicators import (
    INDICATORS,
    contact_rate,
    contact_trend,
    contact_windows,
    hors_radars_share,
    indicator_sources,
    population,
    protected_contacts,
    target_population,
)
from territory.analysis.zones import cell_zones, cells_in_zones, load_zones, zone_centres
from territory.grid import cell_ids
from territory.io.gtfs import WEEKDAYS, GtfsFeed, departures_by_hour, stop_hours_table
from territory.store import Workspace

L93 = "EPSG:2154"
# The travel model's parameters (territory.travel), formerly constants of indicators.
WALK_KMH, CAR_KMH = Settings().walk_kmh, Settings().car_kmh
DETOUR_FACTOR, CAR_ACCESS_MIN = Settings().detour_factor, Settings().car_access_min


def squares(n: int, *, size: float = 1000.0, index: list[str] | None = None) -> gpd.GeoDataFrame:
    """``n`` squares side by side in Lambert-93, with a non-default index."""
    geoms = [
        shapely.box(
            700_000 + i * 2 * size, 6_600_000, 700_000 + (2 * i + 1) * size, 6_600_000 + size
        )
        for i in range(n)
    ]
    codes = [f"Z{i}" for i in range(n)]
    return gpd.GeoDataFrame(
        {"code": codes, "nom": codes},
        geometry=geoms,
        crs=L93,
        index=index or [f"idx{i}" for i in range(n)],
    )


def no_small_count(values: pd.Series, k: int) -> bool:
    shown = pd.to_numeric(values, errors="coerce").dropna()
    return bool(((shown == 0) | (shown >= k)).all())


# ---------------------------------------------------------------------------- registry


def test_registry_documents_every_indicator() -> None:
    for name, ind in INDICATORS.items():
        assert ind.name == name and ind.label_fr and ind.unit and ind.source and ind.layers
    assert {
        "population",
        "contacts_pour_1000",
        "tendance_contacts",
        "hors_radars_part",
        "distance_ML",
        "temps_pied_ML",
        "temps_voiture_ML",
        "distance_partenaire_ouvert",
        "departs_heure",
        "barriere_mobilite",
    } <= set(INDICATORS)
    assert f"{WALK_KMH:g}".replace(".", ",") in INDICATORS["temps_pied_ML"].source  # French
    assert f"{DETOUR_FACTOR:g}".replace(".", ",") in INDICATORS["temps_voiture_ML"].source


def test_indicator_sources_carry_layer_vintages(demo_workspace: Path) -> None:
    table = indicator_sources(Workspace.open(demo_workspace))
    assert "communes : démo fictive" in table.loc["population", "millesime"]
    assert table.loc["contacts_recents", "millesime"] == "contacts : 2025-11 → 2026-10"  # months


def test_doctests_run() -> None:
    import territory.analysis.priority
    import territory.analysis.slots

    for module in (indicators_module, territory.analysis.priority, territory.analysis.slots):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.attempted > 0 and result.failed == 0, module.__name__


# ------------------------------------------------------------------- pure indicators


def test_every_indicator_is_aligned_on_the_zones_index() -> None:
    zones = squares(3)
    partners = gpd.GeoDataFrame(
        {"type": ["ML"], "horaires": ["Mo-Fr 09:00-17:00"]},
        geometry=[shapely.Point(700_500, 6_603_000)],
        crs=L93,
    )
    stops = gpd.GeoDataFrame(
        {"stop_id": ["a"], "departs_jour": [10]},
        geometry=[shapely.Point(700_500, 6_601_200)],
        crs=L93,
    )
    hours = pd.DataFrame({"stop_id": ["a"], "weekday": [1], "hour": [17], "departs": [2]})
    communes = gpd.GeoDataFrame(
        {"population": [9000], "densite_libelle": ["Bourgs ruraux"]},
        geometry=[shapely.box(690_000, 6_590_000, 720_000, 6_610_000)],
        crs=L93,
    )
    pop = population(zones, communes)
    series = [
        zone_centres(zones),
        pop,
        target_population(zones, pop),
        partner_distance(zones, partners),
        partner_distance(zones, partners, open_at=datetime(2026, 11, 3, 10)),
        departures_per_hour(zones, stops, hours, weekday=1, hour=17),
        departures_per_day(zones, stops),
        served_stop_distance(zones, stops, hours, weekday=1, hour=17),
        rural_zones(zones, communes),
    ]
    for s in series:
        assert list(s.index) == list(zones.index)
    assert pop.sum() == pytest.approx(9000 * 3 / 600)


def test_population_areal_weighting_conserves_the_communes() -> None:
    communes = gpd.GeoDataFrame(
        {"population": [1200, 300]},
        geometry=[shapely.box(0, 0, 3000, 2000), shapely.box(3000, 0, 4000, 2000)],
        crs=L93,
    )
    cells = cell_zones(communes.to_crs(4326))
    estimate = population(cells, communes)
    assert estimate.attrs["estimee"]
    assert estimate.sum() == pytest.approx(1500, rel=1e-6)
    by_centre = population(cells, communes, method="centre")
    assert by_centre.sum() == pytest.approx(1500, rel=0.1)
    with pytest.raises(ValidationError, match="population"):
        population(cells)


def test_target_population_says_when_age_data_is_missing() -> None:
    zones = squares(2)
    pop = pd.Series([1000.0, 50.0], index=zones.index)
    assert not target_population(zones, pop).attrs["par_age"]
    zones["population_16_29"] = [180, 9]
    target = target_population(zones, pop)
    assert target.attrs["par_age"] and target.tolist() == [180, 9]


def test_rates_never_use_a_denominator_under_k() -> None:
    k = 11
    counts = pd.Series([15, 0, pd.NA, 20, 15], dtype="Int64")
    pop = pd.Series([3000, 5000, 800, 10, 11])
    rate = contact_rate(counts, pop, k=k)
    assert rate.isna().tolist() == [False, False, True, True, False]
    trend = contact_trend(
        pd.Series([15, 15, 30], dtype="Int64"), pd.Series([30, 5, 0], dtype="Int64"), k=k
    )
    assert trend.tolist()[0] == -0.5 and trend.isna().tolist()[1:] == [True, True]
    share = hors_radars_share(
        pd.Series([15, pd.NA, 0], dtype="Int64"), pd.Series([15, 40, 5], dtype="Int64"), k=k
    )
    assert share.tolist()[0] == 0.5 and share.isna().tolist()[1:] == [True, True]


def test_travel_times_state_their_constants() -> None:
    d = pd.Series([WALK_KMH * 1000 / DETOUR_FACTOR, CAR_KMH * 1000 / DETOUR_FACTOR])
    assert travel_time(d, mode="walk").iloc[0] == pytest.approx(60)
    # One travel model (territory.travel): the car's access time is added (was 60).
    assert travel_time(d, mode="car").iloc[1] == pytest.approx(60 + CAR_ACCESS_MIN)
    with pytest.raises(ValidationError, match="mode"):
        travel_time(d, mode="bike")  # type: ignore[arg-type]


def test_partner_distance_by_type_and_opening() -> None:
    zones = squares(2)
    partners = gpd.GeoDataFrame(
        {
            "type": ["ML", "CS", "ML"],
            "horaires": ["Mo-Fr 09:00-12:00", "Mo-Su 08:00-20:00", "Sa 09:00-12:00"],
        },
        geometry=[shapely.Point(700_500, 6_610_500), shapely.Point(700_500, 6_601_500), None],
        crs=L93,
    )
    assert partner_distance(zones, partners).iloc[0] == pytest.approx(1000)
    assert partner_distance(zones, partners, types=["ML"]).iloc[0] == pytest.approx(10_000)
    tuesday_10h, tuesday_14h = datetime(2026, 11, 3, 10), datetime(2026, 11, 3, 14)
    assert open_partners(partners, tuesday_10h).tolist() == [True, True, False]
    assert partner_distance(zones, partners, types=["ML"], open_at=tuesday_14h).isna().all()
    assert partner_distance(zones, partners.to_crs(4326)).iloc[0] == pytest.approx(1000, abs=1)
    with pytest.raises(CRSError, match="EPSG:2154"):
        partner_distance(zones, partners.set_crs(None, allow_override=True))


def test_departures_per_hour_takes_the_best_stop_within_500_m() -> None:
    zones = squares(2)
    stops = gpd.GeoDataFrame(
        {"stop_id": ["near", "inside", "far"]},
        geometry=[
            shapely.Point(700_500, 6_601_400),
            shapely.Point(700_500, 6_600_500),
            shapely.Point(700_500, 6_601_600),
        ],
        crs=L93,
    )
    hours = pd.DataFrame(
        {
            "stop_id": ["near", "inside", "far", "near"],
            "weekday": [1, 1, 1, 2],
            "hour": [18, 18, 18, 18],
            "departs": [4, 2, 9, 7],
        }
    )
    dep = departures_per_hour(zones, stops, hours, weekday=1, hour=18)
    assert dep.tolist() == [4.0, 0.0] and dep.attrs["arret"] == ["near", None]
    assert departures_per_hour(zones, stops, hours, weekday=1, hour=19).tolist() == [0.0, 0.0]
    served = served_stop_distance(zones, stops, hours, weekday=1, hour=18)
    assert served.iloc[0] == pytest.approx(0)  # the centre stop is served at 18 h
    assert served_stop_distance(zones, stops, hours, weekday=2, hour=18).iloc[0] == (
        pytest.approx(900)
    )
    with pytest.raises(ValidationError, match="moment"):
        departures_per_hour(zones, stops, hours, weekday=7, hour=18)


def test_rural_reads_labels_and_barrier_stays_in_unit_range() -> None:
    communes = gpd.GeoDataFrame(
        {
            "densite": [5, 2, 3],
            "densite_libelle": [
                "Bourgs ruraux",
                "Centres urbains intermédiaires",
                "Très peu dense",
            ],
        },
        geometry=[
            shapely.box(699_000, 6_599_000, 701_500, 6_602_000),
            shapely.box(701_500, 6_599_000, 703_500, 6_602_000),
            shapely.box(703_500, 6_599_000, 706_000, 6_602_000),
        ],
        crs=L93,
    )
    zones = squares(3)
    assert rural_zones(zones, communes).tolist() == [True, False, True]
    barrier = mobility_barrier(
        pd.Series([0.0, 3.0, 1.0]), pd.Series([None, 100.0, 2750.0]), rural_zones(zones, communes)
    )
    assert barrier.between(0, 1).all() and barrier.iloc[0] == 1.0 and barrier.iloc[1] == 0.0


def test_formats_are_french() -> None:
    assert format_distance(9040) == "9 km" and format_distance(1240) == "1,2 km"
    assert format_duration(125) == "2 h 05"


# ------------------------------------------------------------------------ transit


def _tiny_feed() -> GtfsFeed:
    """Service WEEK on weekdays, removed on Wednesday 11 November 2026 (a holiday)."""
    trips = pd.DataFrame({"trip_id": ["T1", "T2", "T3"], "route_id": "R", "service_id": "WEEK"})
    stop_times = pd.DataFrame(
        {
            "trip_id": pd.Categorical(["T1", "T2", "T3", "T3"]),
            "stop_id": pd.Categorical(["A", "A", "A", "B"]),
            "departure_s": pd.array(
                [8 * 3600 + 600, 8 * 3600 + 2400, 17 * 3600, 25 * 3600], dtype="Int32"
            ),
        }
    )
    calendar = pd.DataFrame(
        {
            "service_id": ["WEEK"],
            **{d: [int(i < 5)] for i, d in enumerate(WEEKDAYS)},
            "start_date": [pd.Timestamp("2026-01-01")],
            "end_date": [pd.Timestamp("2026-12-31")],
        }
    )
    dates = pd.DataFrame(
        {
            "service_id": ["WEEK"],
            "date": [pd.Timestamp("2026-11-11")],
            "exception_type": pd.array([2], dtype="int8"),
        }
    )
    stops = pd.DataFrame(
        {
            "stop_id": ["A", "B"],
            "stop_name": ["A", "B"],
            "stop_lat": [46.0, 46.0],
            "stop_lon": [2.0, 2.001],
            "parent_station": ["", ""],
        }
    )
    return GtfsFeed(
        agency=pd.DataFrame(),
        stops=stops,
        routes=pd.DataFrame(),
        trips=trips,
        stop_times=stop_times,
        calendar=calendar,
        calendar_dates=dates,
        files=frozenset({"calendar.txt", "calendar_dates.txt", "stop_times.txt", "trips.txt"}),
    )


def test_stop_hours_honour_calendar_and_stop_times() -> None:
    table = stop_hours_table(_tiny_feed(), week_start=date(2026, 11, 12))  # snapped to Monday 9
    per = table.set_index(["stop_id", "weekday", "hour"])["departs"]
    assert per[("A", 1, 8)] == 2 and per[("A", 1, 17)] == 1
    assert ("A", 2, 8) not in per.index  # Wednesday 11 November: service removed
    # A trip after midnight (25:00 on Tuesday's service) counts on Wednesday at 1 h.
    assert per[("B", 2, 1)] == 1 and ("B", 3, 1) not in per.index  # Wednesday's trip removed
    assert ("A", 5, 8) not in per.index  # no Saturday service


def test_stop_hours_match_departures_by_hour_on_the_demo_feed(tmp_path: Path) -> None:
    from territory.demo import DemoScale, write_demo_sources
    from territory.io.gtfs import read_gtfs

    sources = write_demo_sources(tmp_path, scale=DemoScale(contacts=50))
    feed, _ = read_gtfs(sources.gtfs)
    table = stop_hours_table(feed, week_start=date(2026, 11, 2))
    tuesday = departures_by_hour(feed, date(2026, 11, 3))
    mine = table[table["weekday"] == 1].pivot_table(
        index="stop_id", columns="hour", values="departs", aggfunc="sum", fill_value=0
    )
    ref = tuesday.loc[mine.index, mine.columns]
    assert (mine.to_numpy() == ref.to_numpy()).all()
    assert int(tuesday.to_numpy().sum()) == int(table.loc[table["weekday"] == 1, "departs"].sum())


# ------------------------------------------------------------------------ contacts


def _tiny_workspace(tmp_path: Path, counts: dict[str, int], *, outside: int = 0) -> Workspace:
    """Three square communes and contacts: ``counts`` per commune code, in its centre cell."""
    ws = Workspace.create(tmp_path / "w.gpkg", name="Essai")
    boxes = {
        "00001": (3_760_000, 2_600_000),
        "00002": (3_770_000, 2_600_000),
        "00003": (3_780_000, 2_600_000),
        "00004": (3_790_000, 2_600_000),
    }
    communes = gpd.GeoDataFrame(
        {
            "code": list(boxes),
            "nom": [f"Commune {c}" for c in boxes],
            "population": [5000, 3000, 800, 100],
            "densite": [2, 4, 6, 7],
            "densite_libelle": [
                "Centres urbains intermédiaires",
                "Petites villes",
                "Rural à habitat dispersé",
                "Rural à habitat très dispersé",
            ],
        },
        geometry=[shapely.box(x, y, x + 10_000, y + 10_000) for x, y in boxes.values()],
        crs="EPSG:3035",
    )
    ws.write_layer("communes", communes, source="test", vintage="2026")
    rows = []
    all_counts = {**counts, "00004": outside}
    for code, n in all_counts.items():
        x, y = boxes[code]
        cell = str(cell_ids([x + 5100], [y + 5100])[0])
        for i in range(n):
            statut = "hors radars" if i % 3 == 0 else "premier contact"
            rows.append(
                {"cell": cell, "commune": code, "date": "2026-09-15", "hour": 15, "statut": statut}
            )
    ws.write_table("contacts", pd.DataFrame(rows), source="test", vintage="2026")
    return ws


def test_protected_contacts_apply_threshold_and_secondary_suppression(
    tmp_path: Path,
) -> None:
    settings = Settings(secret_path=tmp_path / "s.key")
    ws = _tiny_workspace(tmp_path, {"00001": 40, "00002": 30, "00003": 3})
    zones = load_zones(ws, "commune")
    zones = zones[zones["code"] != "00004"]  # contacts of 00004 fall in the "outside" part
    out = protected_contacts(ws, zones, kind="commune", settings=settings)
    assert list(out.index) == list(zones.index)
    statut = dict(zip(zones["code"], out["contacts_recents_statut"], strict=True))
    assert statut["00003"] == "sous le seuil"
    # With nothing outside the zones, one more zone is hidden so that 3 is not recoverable.
    assert list(out["contacts_recents_statut"]).count("secret") == 1
    assert no_small_count(out["contacts_recents"], settings.k)
    assert (out["contacts_recents"].dropna() % settings.rounding == 0).all()
    assert out["contacts_precedents"].fillna(0).eq(0).all()  # nothing in May-July


def test_contacts_outside_the_zones_are_a_part_of_the_protection(tmp_path: Path) -> None:
    settings = Settings(secret_path=tmp_path / "s.key")
    ws = _tiny_workspace(tmp_path, {"00001": 40, "00002": 30, "00003": 0}, outside=4)
    zones = load_zones(ws, "commune")
    zones = zones[zones["code"] != "00004"]
    out = protected_contacts(ws, zones, kind="commune", settings=settings)
    # The 4 contacts outside the zones are hidden; a zone is hidden with them, otherwise the
    # territory total minus the zones would give 4.
    assert list(out["contacts_recents_statut"]).count("secret") == 1


def test_protected_contacts_on_the_demo_have_no_small_value(
    demo_workspace: Path, settings: Settings
) -> None:
    ws = Workspace.open(demo_workspace)
    communes = ws.read_layer("communes")
    zone_sets = {
        kind: load_zones(ws, kind, communes=communes) for kind in ("commune", "qpv", "cell")
    }
    from territory.analysis.indicators import protected_contacts_many

    out = protected_contacts_many(ws, zone_sets, settings=settings)
    for kind, table in out.items():
        assert list(table.index) == list(zone_sets[kind].index)
        for column in ("contacts_recents", "contacts_precedents"):
            assert no_small_count(table[column], settings.k), (kind, column)
            assert set(table[f"{column}_statut"]) <= {"publié", "sous le seuil", "secret"}
        share = table["hors_radars_part"].dropna()
        assert len(share) and share.between(0, 1).all()
    cells = out["cell"]
    assert (cells["contacts_recents_statut"] != "publié").any()  # rural cells are suppressed
    assert out["qpv"]["contacts_recents"].notna().all()


def test_qpv_contacts_are_attributed_by_cell_centre() -> None:
    zone = gpd.GeoDataFrame(
        {"code": ["Q"]},
        geometry=[shapely.box(3_775_000, 2_890_000, 3_775_500, 2_890_500)],
        crs="EPSG:3035",
    )
    cells = np.array(
        ["CRS3035RES200mN2890200E3775200", "CRS3035RES200mN2890400E3775400"], dtype=object
    )
    # First centre (3775300, 2890300) inside; second (3775500, 2890500) on the corner: out.
    assert cells_in_zones(cells, zone, kind="qpv").tolist() == ["Q", None]


def test_contact_windows_are_whole_months() -> None:
    windows = contact_windows(date(2026, 3, 2), months=3)
    assert windows.recent == (date(2026, 1, 1), date(2026, 3, 31))
    assert windows.previous == (date(2025, 10, 1), date(2025, 12, 31))
    with pytest.raises(ValidationError):
        contact_windows(date(2026, 3, 2), months=0)


@pytest.mark.real_data
def test_partner_distances_on_real_calvados_communes_and_france_services() -> None:
    from territory.io.partners import read_partners

    communes = gpd.read_file(shared_file("communes-14-calvados.geojson"))
    partners, _ = read_partners(shared_file("france_services_20240801.geojson"))
    partners = partners[partners["code_insee"].str.startswith("14")]
    dist = partner_distance(communes, partners, types=["FRANCE_SERVICES"])
    assert dist.notna().all() and len(dist) == len(communes) > 500
    assert dist.max() < 40_000  # no Calvados commune is 40 km from a France services
    caen = communes.index[communes["code"] == "14118"][0]
    assert dist[caen] < 3_000
    opened = partner_distance(
        communes, partners, types=["FRANCE_SERVICES"], open_at=datetime(2024, 9, 3, 10)
    )
    assert (opened.dropna() >= dist[opened.notna()] - 1e-6).all()


def test_protected_contacts_without_contacts_are_absent_not_zero(tmp_path: Path) -> None:
    settings = Settings(secret_path=tmp_path / "s.key")
    ws = _tiny_workspace(tmp_path, {"00001": 2})
    assert ws.delete_rows("contacts", "1 = 1") == 2
    zones = load_zones(ws, "commune")
    out = protected_contacts(ws, zones, kind="commune", settings=settings)
    assert out["contacts_recents"].isna().all()
    assert (out["contacts_recents_statut"] == "absent").all()
