"""When to go: protected profiles, partner hours never overstated, transit by slot."""

from __future__ import annotations

import json
import re
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
from territory._fr import format_number
from territory.analysis.priority import STOP_HOURS_TABLE
from territory.analysis.slots import (
    DEFAULT_HOURS,
    PRIOR_PEOPLE,
    Profile,
    ProfileLevel,
    _presence,
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
from territory.vocab import PARTNER_TYPES, WEEKDAYS_FR

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


def test_when_flags_public_holidays_and_school_holidays(
    hourly_workspace: Path, settings: Settings
) -> None:
    ws = Workspace.open(hourly_workspace)
    result = when(ws, "00001", settings=settings, week_start=HOLIDAY_WEEK, top=None)
    assert "jour férié : mercredi 11/11 (Armistice)" in result.notes
    wednesday = result.slots["jour"] == 2
    assert (result.slots.loc[wednesday, "ferie"] == "Armistice").all()
    assert result.slots.loc[wednesday, "phrase"].str.endswith(", jour férié (Armistice)").all()
    assert not result.slots.loc[wednesday, "partenaires_ouverts"].map(len).any()
    assert wednesday.to_numpy()[-7:].all() and not wednesday.to_numpy()[:-7].any()  # last
    christmas = when(ws, "00001", settings=settings, week_start=date(2026, 12, 21))
    assert "semaine de vacances scolaires (zone B) : vacances de Noël" in christmas.notes
    assert "jour férié : vendredi 25/12 (Noël)" in christmas.notes
    plain = when(ws, "00001", settings=settings, week_start=date(2026, 11, 30))
    assert not any(n.startswith("jour férié") or "vacances scolaires" in n for n in plain.notes)


def test_demo_zones_get_different_answers(demo_workspace: Path, settings: Settings) -> None:
    ws = Workspace.open(demo_workspace)
    communes = load_zones(ws, "commune")
    answers = {}
    for i in range(len(communes)):
        profile = contact_profile(ws, settings=settings, zone=communes.iloc[[i]])
        answers[communes["code"].iloc[i]] = tuple(recommend_slots(profile, top=3)["creneau"])
    assert len(set(answers.values())) > 1, answers


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


def test_a_small_zone_borrows_the_territory_profile_and_says_so(tmp_path: Path) -> None:
    # Intended change (issue #20): under privacy v1 a zone lost its own profile as soon as
    # one slot of the rest of the territory was small; since v2 (rule 4) it keeps it.
    settings = Settings(secret_path=tmp_path / "s.key")
    ws = _profile_workspace(tmp_path, {"00001": 12, "00002": 0}, extra=3)
    profile = contact_profile(ws, settings=settings, zone=_zone(ws, "00001"))
    assert profile.scope == "zone" and profile.basis.startswith("profil propre de la zone (")
    assert no_small_count(profile.table["contacts"], settings.k)
    whole = contact_profile(ws, settings=settings)
    small = contact_profile(ws, settings=settings, zone=_zone(ws, "00002"))
    assert small.scope == "territoire" and small.levels[0].people is None
    assert small.basis.startswith("profil de la zone non publiable (moins de 11 personnes)")
    assert "profil du territoire (" in small.basis
    shown = ["contacts", "libelle", "statut", "part", "presence"]
    pd.testing.assert_frame_equal(small.table[shown], whole.table[shown])
    empty = _profile_workspace(tmp_path / "b", {"00001": 12, "00002": 0})
    none = contact_profile(empty, settings=settings, zone=_zone(empty, "00002"))
    assert none.levels[0].people == 0 and none.basis.startswith("aucun contact dans la zone")


def _two_zone_workspace(tmp_path: Path) -> Workspace:
    """Four communes, two EPCI: A (00001) met Tuesday evening, B (00002) Saturday afternoon.

    C (00003, A's EPCI) holds 4 contacts on Monday morning; D (00004, B's EPCI) none.
    Every contact is a person of its own (no person key).
    """
    ws = Workspace.create(tmp_path / "ab.gpkg", name="AB")
    xs = [3_760_000, 3_780_000, 3_800_000, 3_820_000]
    communes = gpd.GeoDataFrame(
        {
            "code": ["00001", "00002", "00003", "00004"],
            "nom": ["A", "B", "C", "D"],
            "population": [5000, 5000, 300, 300],
            "epci": ["200000001", "200000002", "200000001", "200000002"],
        },
        geometry=[shapely.box(x, 2_600_000, x + 10_000, 2_610_000) for x in xs],
        crs="EPSG:3035",
    )
    ws.write_layer("communes", communes, source="test", vintage="2026")
    rows = []

    def add(code: str, x: int, day: date, hour: int, n: int) -> None:
        cell = str(cell_ids([x + 5100], [2_605_100])[0])
        rows.extend(
            {"cell": cell, "commune": code, "date": day.isoformat(), "hour": hour, "statut": "x"}
            for _ in range(n)
        )

    monday = date(2026, 10, 5)
    for code, x, (day, hour) in (("00001", xs[0], (1, 18)), ("00002", xs[1], (5, 14))):
        add(code, x, monday + timedelta(days=day), hour, 150)
        for d in range(7):  # a little everywhere else
            for start in range(8, 22, 4):
                add(code, x, monday + timedelta(days=d), start, 3)
    add("00003", xs[2], monday, 8, 4)
    ws.write_table("contacts", pd.DataFrame(rows), source="test", vintage="2026")
    return ws


def test_zones_get_their_own_answer_where_the_data_support_it(tmp_path: Path) -> None:
    settings = Settings(secret_path=tmp_path / "s.key")
    ws = _two_zone_workspace(tmp_path)

    def best(code: str) -> tuple[str, object]:
        profile = contact_profile(ws, settings=settings, zone=_zone(ws, code))
        top = recommend_slots(profile, top=1).iloc[0]
        return str(top["creneau"]), profile

    (a, pa), (b, pb) = best("00001"), best("00002")
    assert a == "mardi 18-20 h" and b == "samedi 14-16 h"
    assert pa.scope == pb.scope == "zone" and pa.levels[0].weight > 0.5
    assert [lv.level for lv in pa.levels] == ["zone", "epci", "territoire"]
    assert "rapproché de celui de l'EPCI (poids 0," in pa.basis
    # C: under k people, it borrows its EPCI's profile (A's), not the territory's.
    c, pc = best("00003")
    assert c == "mardi 18-20 h" and pc.scope == "epci" and pc.main_level == "epci"
    assert (
        pc.basis.startswith("profil de la zone non publiable") and "profil de l'EPCI (" in pc.basis
    )
    # D: no contact at all; its EPCI is B's.
    d, pd_ = best("00004")
    assert d == "samedi 14-16 h" and pd_.basis.startswith("aucun contact dans la zone ; ")
    assert "dans l'EPCI" in recommend_slots(pd_, top=1).iloc[0]["phrase"]
    # Every count shown is a published value of the level named; people too.
    for profile in (pa, pb, pc, pd_):
        assert no_small_count(profile.table["contacts"], settings.k)
        assert (profile.table["contacts"].dropna() % settings.rounding == 0).all()
        for lv in profile.levels:
            assert (
                lv.people is None
                or lv.people == 0
                or (lv.people >= settings.k and lv.people % settings.rounding == 0)
            )
            expected = lv.people / (lv.people + PRIOR_PEOPLE) if lv.people else 0.0
            assert lv.weight == pytest.approx(
                1.0 if lv.level == "territoire" and lv.people else expected
            )
        for number in re.findall(r"\d[\d\u202f]*(?:,\d+)?", profile.basis):
            value = number.replace("\u202f", "")
            people = {str(lv.people) for lv in profile.levels if lv.people is not None}
            weights = {format_number(1 - lv.weight, decimals=2) for lv in profile.levels}
            assert value in people | weights | {"11"}, (number, profile.basis)


def test_the_when_cli_names_the_level_and_its_people(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from territory.cli import main

    ws = _two_zone_workspace(tmp_path)
    code = main(
        ["when", "--workspace", str(ws.path), "--zone", "00001", "00003", "--week", "2026-11-09"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "profil : profil propre de la zone (" in out
    assert (
        "profil : profil de la zone non publiable (moins de 11 personnes) ; profil de l'EPCI ("
        in out
    )


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


# ---------------------------------------------------------------------------- ranking


def _peaked_profile(shares: dict[tuple[int, int], float], rest: float = 0.01) -> Profile:
    """A zone's own profile (scope ``zone``) with the given slot shares, ``rest`` elsewhere."""
    index = [(d, s) for d in range(7) for s in range(8, 22, 2)]
    part = [shares.get(key, rest) for key in index]
    table = pd.DataFrame(
        {
            "jour": [d for d, _ in index],
            "debut": [s for _, s in index],
            "fin": [s + 2 for _, s in index],
            "creneau": [f"{WEEKDAYS_FR[d]} {s}-{s + 2} h" for d, s in index],
            "contacts": pd.array([pd.NA] * len(index), dtype="Int64"),
            "libelle": "",
            "statut": "ok",
            "part": part,
        }
    )
    table["presence"] = _presence(table["part"].to_numpy(float), table["statut"])
    level = ProfileLevel("zone", 200, 0.8, 1.0)
    return Profile(table, "zone", None, (), (level, ProfileLevel("territoire", 900, 1.0, 0.0)))


def test_slots_follow_the_zone_peak_then_open_partners() -> None:
    # Saturday 14 h is the zone's peak; the weekday slots a mission locale is open in are
    # busy too (a third of the slots were « forte », the open partner won the tie).
    busy = {(d, s): 0.04 for d in range(5) for s in (10, 14, 16)}
    profile = _peaked_profile({**busy, (5, 14): 0.30, (1, 18): 0.29, (3, 18): 0.29})
    partners = pd.DataFrame({"nom": ["ML Centre"], "type": ["ML"]})
    hours = partner_slots(
        pd.DataFrame({"horaires": ["Mo-Fr 09:30-12:30,13:30-18:30; Th 18:00-20:00"]}),
        week_start=date(2026, 11, 16),
    )
    slots = recommend_slots(profile, partners=partners, partner_open=hours, top=None)
    # Thursday 18 h: a near-tie with the peak, broken by the open partner (secondary).
    assert slots["creneau"].head(3).tolist() == ["jeudi 18-20 h", "samedi 14-16 h", "mardi 18-20 h"]
    assert (slots["presence"] == "forte").sum() == 3  # not a third of the slots
    assert slots["score"].is_monotonic_decreasing
    first, peak = slots.iloc[0], slots.iloc[1]
    assert peak["pourquoi"] == "présence forte : 1er des 49 créneaux"
    assert first["pourquoi"] == (
        "présence forte : 2e des 49 créneaux ; partenaire ouvert : Mission locale"
    )
    # Without the partner, the peak comes first; busy weekday slots stay behind.
    alone = recommend_slots(profile, top=5)
    assert alone["creneau"].tolist()[:3] == ["samedi 14-16 h", "mardi 18-20 h", "jeudi 18-20 h"]
    assert set(alone["presence"].iloc[3:]) == {"faible"}


def test_slot_profiles_rank_by_the_blended_share(tmp_path: Path) -> None:
    # 00002 (900 inhabitants) is met every slot, plus a peak on Tuesday at 10 h.
    settings = Settings(secret_path=tmp_path / "s.key")
    ws = _profile_workspace(tmp_path, {"00001": 12, "00002": 12}, extra=60)
    profile = contact_profile(ws, settings=settings, zone=_zone(ws, "00002"))
    slots = recommend_slots(profile, top=None)
    assert slots["creneau"].iloc[0] == "mardi 10-12 h"
    assert slots["rang_presence"].iloc[0] == 1
    assert slots["part"].iloc[0] == slots["part"].max()


def test_no_transit_feed_says_there_is_no_transport_data(tmp_path: Path) -> None:
    settings = Settings(secret_path=tmp_path / "s.key")
    ws = _two_zone_workspace(tmp_path)  # no GTFS imported
    result = when(ws, "00001", settings=settings, week_start=date(2026, 11, 16))
    assert not any("horaires du GTFS non stockés" in n for n in result.notes), result.notes
    assert "desserte : pas de données de transport" in " ".join(result.notes)
    assert result.slots["phrase"].str.endswith(", pas de données de transport").all()


def test_when_json_names_partner_types_in_french(
    hourly_workspace: Path, settings: Settings
) -> None:
    ws = Workspace.open(hourly_workspace)
    data = when(ws, "00001", settings=settings, week_start=HOLIDAY_WEEK, top=None).to_dict()
    opened = [s for s in data["slots"] if s["types_ouverts"]]
    assert opened
    for slot in opened:
        assert slot["types_ouverts"] == [PARTNER_TYPES[c] for c in slot["types_ouverts_code"]]
        assert slot["pourquoi"].startswith(("présence ", "jour férié", "aucun", "faible"))
    assert not {t for s in opened for t in s["types_ouverts"]} & set(PARTNER_TYPES)
    for partner in data["partners"]:
        assert partner["type"] == PARTNER_TYPES[partner["type_code"]]
