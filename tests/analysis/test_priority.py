"""Priority score: weights, stable ranking, reasons, missing layers, protected figures."""

from __future__ import annotations

import json
import shutil
import time
from datetime import date, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import demo_copy_without_territories

from territory import Settings
from territory._errors import ValidationError, WorkspaceError
from territory.analysis.priority import (
    GROUPS,
    STOP_HOURS_TABLE,
    Weights,
    ZoneIndicators,
    build_indicators,
    load_stop_hours,
    load_weights,
    priorities,
    rank_zones,
    save_weights,
    zone_indicators,
    zone_indicators_many,
)
from territory.analysis.zones import load_zones
from territory.ingest_transit import save_stop_hours
from territory.store import Workspace

TUESDAY_17 = datetime(2026, 11, 3, 17)


@pytest.fixture(scope="module")
def hourly_workspace(demo_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo workspace with the GTFS departures per hour stored."""
    from territory.demo import DemoScale, write_demo_sources
    from territory.io.gtfs import read_gtfs
    from territory.io.gtfs_networks import network_name, with_network

    folder = tmp_path_factory.mktemp("priority")
    path = folder / "demo-hours.gpkg"
    shutil.copyfile(demo_workspace, path)
    # Same seed and commune count as the demo: the same GTFS feed.
    sources = write_demo_sources(folder / "src", scale=DemoScale(contacts=50))
    feed, _ = read_gtfs(sources.gtfs)
    name = network_name(feed, sources.gtfs)  # the demo's network: its hours are replaced
    ws = Workspace.open(path)
    assert save_stop_hours(ws, with_network(feed, name), today=date(2026, 10, 31), network=name)
    assert set(ws.read_table(STOP_HOURS_TABLE)["reseau"]) == {name}
    return path


@pytest.fixture(scope="module")
def indicators(hourly_workspace: Path, settings: Settings) -> dict[str, ZoneIndicators]:
    ws = Workspace.open(hourly_workspace)
    return zone_indicators_many(
        ws, settings=settings, kinds=("commune", "qpv", "cell"), at=TUESDAY_17
    )


def small_values_absent(values: pd.Series, k: int) -> bool:
    shown = pd.to_numeric(values, errors="coerce").dropna()
    return bool(((shown == 0) | (shown >= k)).all())


# ---------------------------------------------------------------------------- weights


def test_weights_parse_and_validate() -> None:
    assert Weights.parse("mobility=0.5") == Weights(mobility=0.5)
    assert Weights.parse("need=1, coverage=2, access=0") == Weights(1, 2, 0, 1)
    with pytest.raises(ValidationError, match="groupe=poids"):
        Weights.parse("besoin=2")
    with pytest.raises(ValidationError, match="nuls"):
        Weights(0, 0, 0, 0)
    with pytest.raises(ValidationError, match="positif"):
        Weights(need=-1)


def test_weights_are_saved_per_territory(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "w.gpkg", name="Essai")
    assert load_weights(ws) == Weights()
    save_weights(ws, Weights(need=3, mobility=0), territory="Nord")
    save_weights(ws, Weights(access=2))
    assert load_weights(ws, territory="Nord") == Weights(need=3, mobility=0)
    assert load_weights(ws) == Weights(access=2)
    assert load_weights(ws, territory="Sud") == Weights()
    ws.set_property("priorites.poids:Sud", "not json")
    assert load_weights(ws, territory="Sud") == Weights()


# ---------------------------------------------------------------------------- ranking


def test_every_zone_has_reasons_and_a_score(indicators: dict[str, ZoneIndicators]) -> None:
    for kind, ind in indicators.items():
        ranking = rank_zones(ind, Weights())
        table = ranking.table
        assert len(table) == len(ind.zones) > 0, kind
        assert table["score"].between(0, 100).all()
        assert table["raisons"].map(len).between(1, 3).all()
        assert table["pourquoi"].str.len().gt(5).all()
        assert table["rang"].tolist() == list(range(1, len(table) + 1))
        assert set(ind.groups.values()) == set(GROUPS), kind  # demo: every layer is there


def test_ranking_moves_as_the_weights_say(indicators: dict[str, ZoneIndicators]) -> None:
    ind = indicators["commune"]
    for group in GROUPS:
        alone = Weights(**{g: float(g == group) for g in GROUPS})
        table = rank_zones(ind, alone).table
        # One group alone: the ranking is that group's mean component, ties by code.
        expected = table.assign(g=table[group].round(6)).sort_values(
            ["g", "code"], ascending=[False, True], kind="stable"
        )
        assert table["code"].tolist() == expected["code"].tolist(), group
    # Raising a weight never lowers the zone that is best on that group.
    best_access = rank_zones(ind, Weights()).table.sort_values("access").iloc[-1]["code"]
    ranks = []
    for w in (0.0, 1.0, 3.0, 10.0):
        table = rank_zones(ind, Weights(access=w)).table
        ranks.append(int(table.loc[table["code"] == best_access, "rang"].iloc[0]))
    assert ranks == sorted(ranks, reverse=True) and ranks[-1] < ranks[0]
    # And the score follows that group more closely.
    low = rank_zones(ind, Weights(access=0.1)).table
    high = rank_zones(ind, Weights(access=10)).table
    corr_low = np.corrcoef(low["score"], low["access"])[0, 1]
    corr_high = np.corrcoef(high["score"], high["access"])[0, 1]
    assert corr_high > corr_low


def test_reasons_name_the_top_components_with_figures(
    indicators: dict[str, ZoneIndicators],
) -> None:
    ind = indicators["commune"]
    mobility = rank_zones(ind, Weights(need=0, coverage=0, access=0, mobility=1)).table
    top = mobility.iloc[0]
    assert any("arrêt" in r or "départ" in r for r in top["raisons"])
    access = rank_zones(ind, Weights(need=0, coverage=0, access=1, mobility=0)).table
    assert any(" km" in r or " m " in r for r in access.iloc[0]["raisons"])
    coverage = rank_zones(ind, Weights(need=0, coverage=1, access=0, mobility=0)).table
    assert any("contact" in r for r in coverage.iloc[0]["raisons"])
    assert "habitants" in " ".join(coverage.iloc[0]["raisons"])


def test_ranking_is_stable_with_ties_broken_by_code() -> None:
    zones = gpd.GeoDataFrame(
        {"code": ["C", "A", "B", "D"], "nom": list("CABD"), "population": [100, 100, 100, 900]},
        geometry=[shapely.box(i * 2000, 0, i * 2000 + 1000, 1000) for i in range(4)],
        crs="EPSG:2154",
    )
    ind = build_indicators(zones, kind="commune", settings=Settings(), at=TUESDAY_17)
    first = rank_zones(ind, Weights()).table["code"].tolist()
    assert first == ["D", "A", "B", "C"]
    assert rank_zones(ind, Weights(need=5)).table["code"].tolist() == first


def test_no_contact_value_in_one_to_k_minus_one(
    indicators: dict[str, ZoneIndicators], settings: Settings
) -> None:
    for kind, ind in indicators.items():
        for column in ("contacts_recents", "contacts_precedents"):
            assert small_values_absent(ind.values[column], settings.k), (kind, column)
        records = rank_zones(ind, Weights()).records()
        for record in records:
            for column in ("contacts_recents", "contacts_precedents"):
                value = record["indicators"][column]
                assert value is None or value == 0 or value >= settings.k
        json.dumps(records, ensure_ascii=False)
    cells = indicators["cell"].values
    assert (cells["contacts_recents_statut"] == "sous le seuil").any()
    assert (
        cells.loc[cells["contacts_recents_statut"] != "publié", "contacts_pour_1000"].isna().all()
    )


def test_hourly_transit_components_and_open_partners(
    indicators: dict[str, ZoneIndicators], hourly_workspace: Path, settings: Settings
) -> None:
    ind = indicators["commune"]
    assert "departs_heure" in ind.components and "departs_jour" not in ind.components
    assert "distance_partenaire_ouvert" in ind.components
    assert ind.at == TUESDAY_17
    # Communes beyond the demo network's coverage: no departure, no barrier, a reason.
    covered = ind.values["etat_transport"] == "horaires connus"
    assert covered.any() and not covered.all()
    assert (ind.values.loc[covered, "departs_heure"] >= 0).all()
    assert ind.values.loc[covered, "barriere_mobilite"].between(0, 1).all()
    outside = ind.values.loc[~covered]
    assert (
        outside[["departs_heure", "distance_arret_desservi", "barriere_mobilite"]]
        .isna()
        .all()
        .all()
    )
    assert (
        ind.phrases.loc[~covered, "barriere_mobilite"].str.startswith("pas de données de transport")
    ).all()
    town = ind.values.loc["00001"]
    assert town["departs_heure"] > 10 and not town["rural"]
    assert any("le mardi" in p for p in ind.phrases["departs_heure"])
    # Later in the evening: fewer departures, and partners farther (or none) open.
    late = zone_indicators(
        Workspace.open(hourly_workspace), settings=settings, at=datetime(2026, 11, 3, 21)
    )
    assert late.values["departs_heure"].sum() < ind.values["departs_heure"].sum()
    open_late = late.values["distance_partenaire_ouvert"]
    assert open_late.isna().all() or (open_late >= ind.values["distance_partenaire_ouvert"]).all()


def test_missing_layers_leave_their_group_out_and_say_so(
    demo_workspace: Path, settings: Settings, tmp_path: Path
) -> None:
    ws = Workspace.open(demo_workspace)
    zones = load_zones(ws, "commune")
    bare = build_indicators(zones, kind="commune", settings=settings, at=TUESDAY_17)
    assert set(bare.groups.values()) == {"need"}
    notes = " ".join(bare.notes)
    assert "aucun contact" in notes and "aucun partenaire" in notes and "GTFS" in notes
    ranking = rank_zones(bare, Weights(need=1, coverage=5, access=5, mobility=5))
    assert ranking.table["code"].tolist() == rank_zones(bare, Weights()).table["code"].tolist()
    assert any("sans effet" in n for n in ranking.notes)
    with pytest.raises(ValidationError, match="poids nul"):
        rank_zones(bare, Weights(need=0, coverage=1))
    # The GTFS import stores departures by hour: the hourly indicator is used...
    hourly = zone_indicators(ws, settings=settings, at=TUESDAY_17)
    assert "departs_heure" in hourly.components and load_stop_hours(ws) is not None
    # ...and without the hourly table, daily departures stand in (and it is said).
    copy = Workspace.open(demo_copy_without_territories(demo_workspace, tmp_path))
    copy.delete_rows(STOP_HOURS_TABLE, "1 = 1")
    daily = zone_indicators(copy, settings=settings, at=TUESDAY_17)
    assert "departs_jour" in daily.components and "departs_heure" not in daily.components
    assert any("desserte par heure" in n for n in daily.notes)
    assert load_stop_hours(copy) is None


def test_population_and_target_notes(indicators: dict[str, ZoneIndicators]) -> None:
    assert any(
        "population totale (pas de données par âge importées" in n
        for n in indicators["commune"].notes
    )
    assert "population_cible" not in indicators["commune"].components
    assert any("estimée" in n for n in indicators["qpv"].notes)
    assert not any("estimée" in n for n in indicators["commune"].notes)
    zones = gpd.GeoDataFrame(
        {"code": ["A", "B"], "population": [1000, 900], "population_16_29": [100, 300]},
        geometry=[shapely.box(0, 0, 10, 10), shapely.box(20, 0, 30, 10)],
        crs="EPSG:2154",
    )
    ind = build_indicators(zones, kind="commune", settings=Settings(), at=TUESDAY_17)
    assert "population_cible" in ind.components and "population" not in ind.components
    # the need is the young people: B (300 of 900) before A (100 of 1,000)
    assert rank_zones(ind, Weights()).table["code"].tolist() == ["B", "A"]


def test_territory_restricts_zones_and_contacts(hourly_workspace: Path, settings: Settings) -> None:
    ws = Workspace.open(hourly_workspace)
    whole = priorities(ws, settings=settings, at=TUESDAY_17)
    rural = priorities(ws, settings=settings, territory="Communes rurales", at=TUESDAY_17)
    assert 0 < len(rural.table) < len(whole.table)
    assert rural.indicators.values["rural"].all()
    save_weights(
        ws, Weights(need=0, coverage=0, access=1, mobility=0), territory="Communes rurales"
    )
    saved = priorities(ws, settings=settings, territory="Communes rurales", at=TUESDAY_17)
    assert saved.weights == Weights(need=0, coverage=0, access=1, mobility=0)
    assert (
        saved.table["code"].iloc[0]
        == saved.table.sort_values(["access", "code"], ascending=[False, True])["code"].iloc[0]
    )


def test_records_are_plain_json(indicators: dict[str, ZoneIndicators]) -> None:
    records = rank_zones(indicators["qpv"], Weights()).records()
    text = json.dumps(records, ensure_ascii=False)
    first = records[0]
    assert {
        "rang",
        "code",
        "name",
        "score",
        "groups",
        "components",
        "indicators",
        "reasons",
    } <= set(first)
    assert first["code"].startswith("QN") and "habitants" in text


def test_rerank_is_fast(indicators: dict[str, ZoneIndicators]) -> None:
    ind = indicators["cell"]
    start = time.perf_counter()
    rank_zones(ind, Weights(need=2, access=0.5))
    assert time.perf_counter() - start < 1.0  # the benchmark checks ≤ 0.3 s at 10,000 cells


def test_zone_errors_are_french(tmp_path: Path, demo_workspace: Path) -> None:
    empty = Workspace.create(tmp_path / "vide.gpkg", name="Vide")
    with pytest.raises(WorkspaceError, match="communes"):
        load_zones(empty, "commune")
    with pytest.raises(ValidationError, match="type de zone"):
        load_zones(Workspace.open(demo_workspace), "iris")  # type: ignore[arg-type]


def test_a_score_needs_some_data() -> None:
    zones = gpd.GeoDataFrame({"code": ["A"]}, geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:2154")
    ind = build_indicators(zones, kind="commune", settings=Settings(), at=TUESDAY_17)
    assert any("population inconnue" in n for n in ind.notes)
    with pytest.raises(ValidationError, match="aucune donnée"):
        rank_zones(ind, Weights())


def test_a_feed_without_schedule_empties_its_network_hours(
    hourly_workspace: Path, tmp_path: Path
) -> None:
    from territory.io.gtfs import GtfsFeed

    path = tmp_path / "copy.gpkg"
    shutil.copyfile(hourly_workspace, path)
    ws = Workspace.open(path)
    assert load_stop_hours(ws, weekday=1, hour=17) is not None
    empty = pd.DataFrame()
    feed = GtfsFeed(empty, empty, empty, empty, empty, empty, empty)
    assert save_stop_hours(ws, feed, today=date(2026, 10, 31), network="autre") == 0
    assert load_stop_hours(ws) is not None  # another network's hours are kept
    demo_network = "Réseau fictif de l'Ardoise"
    assert save_stop_hours(ws, feed, today=date(2026, 10, 31), network=demo_network) == 0
    assert load_stop_hours(ws) is None


def test_a_territory_without_zones_of_a_kind_gives_an_empty_ranking(
    demo_workspace: Path, settings: Settings
) -> None:
    ranking = priorities(
        Workspace.open(demo_workspace), settings=settings, territory="Communes rurales", kind="qpv"
    )
    assert ranking.table.empty and ranking.records() == []
    assert any("aucune zone" in n for n in ranking.notes)


def test_stop_hours_of_chosen_stops_on_either_engine(demo_workspace: Path) -> None:
    """``stop_ids`` filters in SQL (``json_each`` on the file, its PostgreSQL form on the server).

    Run with ``TERRITORY_TEST_BACKEND=postgres`` too: the « Où et quand » page's slots
    failed there (no ``json_each`` in PostgreSQL) before the store translated it.
    """
    ws = Workspace.open(demo_workspace)
    every = load_stop_hours(ws, weekday=1)
    assert every is not None and not every.empty
    chosen = sorted(set(every["stop_id"]))[:2]
    some = load_stop_hours(ws, weekday=1, stop_ids=chosen)
    assert some is not None and set(some["stop_id"]) == set(chosen)
    assert len(some) == int(every["stop_id"].isin(chosen).sum())
