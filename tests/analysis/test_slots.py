"""When to go: protected profiles, partner hours never overstated, transit by slot."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from conftest import demo_copy_without_territories

from territory import Settings
from territory._errors import ValidationError
from territory.analysis.priority import STOP_HOURS_TABLE
from territory.analysis.slots import (
    DEFAULT_HOURS,
    contact_profile,
    partner_slots,
    recommend_slots,
    transit_slots,
    when,
)
from territory.analysis.zones import load_zones
from territory.grid import cell_ids
from territory.hours import is_open, open_during
from territory.ingest_transit import save_stop_hours
from territory.store import Workspace

HOLIDAY_WEEK = date(2026, 11, 9)  # Wednesday 11 November is a public holiday


@pytest.fixture(scope="module")
def hourly_workspace(demo_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from territory.demo import DemoScale, write_demo_sources
    from territory.io.gtfs import read_gtfs

    folder = tmp_path_factory.mktemp("slots")
    path = folder / "demo-hours.gpkg"
    shutil.copyfile(demo_workspace, path)
    sources = write_demo_sources(folder / "src", scale=DemoScale(contacts=50))
    feed, _ = read_gtfs(sources.gtfs)
    save_stop_hours(Workspace.open(path), feed, today=date(2026, 10, 31))
    return path


def no_small_count(values: pd.Series, k: int) -> bool:
    shown = pd.to_numeric(values, errors="coerce").dropna()
    return bool(((shown == 0) | (shown >= k)).all())


# ---------------------------------------------------------------------- opening hours


def test_open_during_needs_the_whole_slot() -> None:
    hours = "Mo-Fr 08:30-12:30,13:30-17:00; PH off"
    tuesday = date(2026, 11, 3)

    def at(day: date, h: int) -> datetime:
        return datetime.combine(day, datetime.min.time()) + timedelta(hours=h)

    assert open_during(hours, at(tuesday, 10), at(tuesday, 12))
    assert not open_during(hours, at(tuesday, 8), at(tuesday, 10))  # opens at 8:30
    assert not open_during(hours, at(tuesday, 12), at(tuesday, 14))  # lunch break
    assert not open_during(hours, at(tuesday, 16), at(tuesday, 18))  # closes at 17
    assert not open_during(hours, at(date(2026, 11, 11), 10), at(date(2026, 11, 11), 12))
    assert open_during("", at(tuesday, 10), at(tuesday, 12)) is None
    assert open_during("n'importe quoi", at(tuesday, 10), at(tuesday, 12)) is None


def test_partner_open_slots_never_fall_outside_the_partner_hours(
    hourly_workspace: Path, settings: Settings
) -> None:
    ws = Workspace.open(hourly_workspace)
    partners = ws.read_layer("partners")
    table = partner_slots(partners, week_start=HOLIDAY_WEEK)
    monday = HOLIDAY_WEEK - timedelta(days=HOLIDAY_WEEK.weekday())
    assert table.to_numpy().any()
    for label, row in table.iterrows():
        hours = str(partners.loc[label, "horaires"] or "")
        for (day, start), opened in row.items():
            if not opened:
                continue
            begin = datetime.combine(monday + timedelta(days=day), datetime.min.time())
            for minute in range(start * 60, (start + 2) * 60, 5):
                assert is_open(hours, begin + timedelta(minutes=minute)), (hours, day, start)
    # Recommended slots name only partners open for the whole slot.
    for zone in ("00001", "QN00001M", "00017"):
        result = when(ws, zone, settings=settings, week_start=HOLIDAY_WEEK, top=None)
        hours_of = dict(zip(result.partners["nom"], result.partners["horaires"], strict=True))
        for slot in result.slots.itertuples(index=False):
            begin = datetime.combine(monday + timedelta(days=int(slot.jour)), datetime.min.time())
            for name in slot.partenaires_ouverts:
                for minute in range(slot.debut * 60, slot.fin * 60, 5):
                    assert is_open(hours_of[name], begin + timedelta(minutes=minute)), (
                        zone,
                        slot.creneau,
                        name,
                    )


def test_open_type_keeps_only_slots_with_that_partner_open(
    hourly_workspace: Path, settings: Settings
) -> None:
    ws = Workspace.open(hourly_workspace)
    result = when(ws, "00001", settings=settings, week_start=HOLIDAY_WEEK, open_type="ML", top=None)
    assert len(result.slots) > 0
    assert result.slots["types_ouverts"].map(lambda t: "ML" in t).all()
    assert not (result.slots["jour"] == 2).any()  # 11 November: the mission locale is closed
    assert result.slots["phrase"].str.contains("mission locale").all()
    everything = when(ws, "00001", settings=settings, week_start=HOLIDAY_WEEK, top=None)
    assert len(everything.slots) == 7 * 7 > len(result.slots)


# ---------------------------------------------------------------------------- profiles


def _profile_workspace(tmp_path: Path, per_slot: dict[str, int], extra: int = 0) -> Workspace:
    """Two communes with ``per_slot[code]`` contacts in every 2-hour slot of the week (8-22 h).

    Commune 00002 has ``extra`` more contacts on Tuesday at 10 h.
    """
    ws = Workspace.create(tmp_path / "p.gpkg", name="Essai")
    origin = {"00001": 3_760_000, "00002": 3_780_000}
    communes = gpd.GeoDataFrame(
        {"code": list(origin), "nom": ["Une", "Deux"], "population": [4000, 900]},
        geometry=[shapely.box(x, 2_600_000, x + 10_000, 2_610_000) for x in origin.values()],
        crs="EPSG:3035",
    )
    ws.write_layer("communes", communes, source="test", vintage="2026")
    rows = []
    monday = date(2026, 10, 5)
    for code, n in per_slot.items():
        cell = str(cell_ids([origin[code] + 5100], [2_605_100])[0])
        for day in range(7):
            for start in range(8, 22, 2):
                rows.extend(
                    {
                        "cell": cell,
                        "commune": code,
                        "date": (monday + timedelta(days=day)).isoformat(),
                        "hour": start + i % 2,
                        "statut": "premier contact",
                    }
                    for i in range(n)
                )
    cell = str(cell_ids([origin["00002"] + 5100], [2_605_100])[0])
    rows += [
        {"cell": cell, "commune": "00002", "date": "2026-10-06", "hour": 10, "statut": "x"}
    ] * extra
    ws.write_table("contacts", pd.DataFrame(rows), source="test", vintage="2026")
    return ws


def _zone(ws: Workspace, code: str) -> gpd.GeoDataFrame:
    zones = load_zones(ws, "commune")
    return zones[zones["code"] == code].reset_index(drop=True)


def test_zone_profile_only_when_every_slot_reaches_k(tmp_path: Path) -> None:
    settings = Settings(secret_path=tmp_path / "s.key")
    ws = _profile_workspace(tmp_path, {"00001": 12})
    profile = contact_profile(ws, settings=settings, zone=_zone(ws, "00001"))
    assert profile.scope == "zone" and len(profile.table) == 49
    assert (profile.table["contacts"] >= settings.k).all()
    assert no_small_count(profile.table["contacts"], settings.k)


def test_zone_profile_falls_back_when_a_slot_is_small(tmp_path: Path) -> None:
    settings = Settings(secret_path=tmp_path / "s.key")
    ws = _profile_workspace(tmp_path, {"00001": 12, "00002": 0}, extra=3)
    # The rest of the territory holds 3 contacts on Tuesday 10-12 h: territory minus zone
    # would reveal them, so the zone's profile is not published.
    profile = contact_profile(ws, settings=settings, zone=_zone(ws, "00001"))
    assert profile.scope == "territoire"
    assert any("profil du territoire" in n for n in profile.notes)
    assert no_small_count(profile.table["contacts"], settings.k)
    small = contact_profile(ws, settings=settings, zone=_zone(ws, "00002"))
    assert small.scope == "territoire"
    ws2 = _profile_workspace(tmp_path / "b", {"00001": 12, "00002": 0})
    ws2.delete_rows("contacts", "date = '2026-10-11' AND hour IN (20, 21) AND rowid % 3 = 0")
    thinner = contact_profile(ws2, settings=settings, zone=_zone(ws2, "00001"))
    assert thinner.scope == "territoire"


def test_territory_profile_is_protected_on_the_demo(
    demo_workspace: Path, settings: Settings
) -> None:
    ws = Workspace.open(demo_workspace)
    profile = contact_profile(ws, settings=settings)
    table = profile.table
    assert profile.scope == "territoire" and len(table) == 7 * 7
    assert no_small_count(table["contacts"], settings.k)
    assert (table["contacts"].dropna() % settings.rounding == 0).all()
    assert set(table["presence"]) <= {"forte", "moyenne", "faible", "aucune", "inconnue"}
    assert (table["presence"] == "forte").any()
    with pytest.raises(ValidationError, match="plage horaire"):
        contact_profile(ws, settings=settings, hours=(9, 22))


# ---------------------------------------------------------------------------- transit


def test_transit_slots_take_the_best_stop() -> None:
    hours = pd.DataFrame(
        {
            "stop_id": ["a", "a", "b", "b"],
            "weekday": [1, 1, 1, 1],
            "hour": [16, 17, 16, 18],
            "departs": [3, 3, 4, 1],
        }
    )
    table = transit_slots(hours, ["a", "b"], stop_names={"a": "Gare"}, hours=(16, 20))
    assert table.loc[(1, 16), "departs_par_heure"] == 3.0 and table.loc[(1, 16), "arret"] == "Gare"
    assert table.loc[(1, 18), "arret"] == "b" and table.loc[(2, 16), "departs_par_heure"] == 0


def test_recommended_slots_have_french_sentences(
    hourly_workspace: Path, settings: Settings
) -> None:
    ws = Workspace.open(hourly_workspace)
    result = when(ws, "00001", settings=settings, week_start=HOLIDAY_WEEK)
    assert len(result.slots) == 5 and result.week_start == date(2026, 11, 9)
    first = result.slots.iloc[0]
    assert first["phrase"].startswith(first["creneau"] + " : ")
    assert "présence" in first["phrase"] and ("départ" in first["phrase"])
    assert result.slots["score"].is_monotonic_decreasing
    data = result.to_dict()
    json.dumps(data, ensure_ascii=False)
    assert data["profile_scope"] in ("zone", "territoire") and data["slots"][0]["phrase"]
    for slot in data["profile"]:
        assert slot["contacts"] is None or slot["contacts"] == 0 or slot["contacts"] >= settings.k
    assert when(ws, "QN00001M", settings=settings, week_start=HOLIDAY_WEEK).kind == "qpv"
    cell = load_zones(ws, "cell")["code"].iloc[0]
    assert when(ws, cell, settings=settings, week_start=HOLIDAY_WEEK).kind == "cell"
    with pytest.raises(ValidationError, match="introuvable"):
        when(ws, "99999", settings=settings)


def test_recommendations_degrade_without_partners_or_transit(
    demo_workspace: Path, settings: Settings, tmp_path: Path
) -> None:
    ws = Workspace.open(demo_workspace)
    profile = contact_profile(ws, settings=settings)
    slots = recommend_slots(profile, top=None)
    assert len(slots) == 7 * 7
    assert slots["phrase"].str.contains("aucun partenaire proche ouvert").all()
    assert slots["phrase"].str.contains("desserte inconnue").all()
    # The demo's GTFS import stored departures by hour; without them, it is said.
    copy = Workspace.open(demo_copy_without_territories(demo_workspace, tmp_path))
    copy.delete_rows(STOP_HOURS_TABLE, "1 = 1")
    result = when(copy, "00001", settings=settings, week_start=HOLIDAY_WEEK)
    assert any("desserte par heure inconnue" in n for n in result.notes)
    # A commune beyond the demo network's coverage: transit left out, and why.
    far = when(copy, "00017", settings=settings, week_start=HOLIDAY_WEEK)
    assert any("desserte : pas de données de transport" in n for n in far.notes)
    assert DEFAULT_HOURS == (8, 22)
