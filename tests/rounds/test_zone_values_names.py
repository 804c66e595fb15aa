"""Issue #20, items 5 and 8: slots valued per zone, names in plans, visits a day.

Each place's slots are valued by its zone's published profile; zones and places show by
name in every plan output; the places import carries the visits a day.
"""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from html import escape as html_escape
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from territory import Settings
from territory.grid import cell_ids
from territory.ingest import import_file
from territory.privacy import published, raw
from territory.privacy.published import SlotCounts
from territory.rounds.model import Team
from territory.rounds.naming import place_zones
from territory.rounds.outputs import ics_calendars, write_csv
from territory.rounds.sheets import sheet_html
from territory.rounds.value import communes_with_qpv, zone_yields
from territory.rounds.week import (
    PLACES,
    VISITS,
    candidate_places,
    load_plan,
    plan_week,
    remove_places,
    save_plan,
)
from territory.store import Workspace

WEEK = "2026-W49"  # Monday 30 November 2026
WEDNESDAY, THURSDAY = 2, 3
ALL_DAY = dict.fromkeys(range(5), ((8 * 60, 20 * 60),))
SLOTS = [(d, h) for d in range(7) for h in range(8, 22, 2)]


# ------------------------------------------------------------- values per zone
def _two_communes(tmp_path: Path) -> tuple[Workspace, dict[str, tuple[float, float]]]:
    """Rural communes A (met Wednesday 14-16 h) and B (Thursday 10-12 h), 10 km apart.

    A holds more people than B, so that the territory's busiest slot is A's: a planner
    reading the territory's profile for every place would send B's team there too.
    Each commune is rural without QPV: visited once a week at most.
    """
    ws = Workspace.create(tmp_path / "ab.gpkg", name="AB")
    xs = [3_760_000, 3_780_000]
    communes = gpd.GeoDataFrame(
        {
            "code": ["00001", "00002"],
            "nom": ["Alpha-sur-Test", "Bêta-les-Essais"],
            "population": [2000, 2000],
            "densite_libelle": ["rural à habitat dispersé"] * 2,
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
    for code, x, (day, hour), n in (
        ("00001", xs[0], (WEDNESDAY, 14), 300),
        ("00002", xs[1], (THURSDAY, 10), 150),
    ):
        add(code, x, monday + timedelta(days=day), hour, n)
        for d in range(7):  # a little everywhere else
            for start in range(8, 22, 4):
                add(code, x, monday + timedelta(days=d), start, 3)
    ws.write_table("contacts", pd.DataFrame(rows), source="test", vintage="2026")
    centres = communes.geometry.centroid.to_crs(4326)
    points = {
        code: (float(p.x), float(p.y)) for code, p in zip(communes["code"], centres, strict=True)
    }
    places = gpd.GeoDataFrame(
        {
            "id": ["pa", "pb"],
            "nom": ["Place de la mairie d'Alpha", "Place de la mairie de Bêta"],
            "type": ["place de village"] * 2,
            "zone": ["00001", "00002"],
            "duree": [60.0, 60.0],
            "priorite": [1.0, 1.0],
            "horaires": ["", ""],
            "source": ["test"] * 2,
        },
        geometry=gpd.points_from_xy(*zip(*points.values(), strict=True)),
        crs=4326,
    )
    ws.write_layer(PLACES, places, source="test", vintage="")
    return ws, points


def _slot(visit: pd.Series) -> tuple[int, int]:
    start = visit["start"]
    return start.weekday(), 8 + (start.hour - 8) // 2 * 2


def test_each_zone_is_visited_in_its_own_best_slot(tmp_path: Path) -> None:
    settings = Settings(secret_path=tmp_path / "s.key")
    ws, points = _two_communes(tmp_path)
    teams = [
        Team("Équipe Alpha", "marche", base=points["00001"], availability=ALL_DAY),
        Team("Équipe Bêta", "marche", base=points["00002"], availability=ALL_DAY),
    ]
    # Both rural communes asked this week (by the rule, each has its own turn).
    plan, places = plan_week(
        ws, WEEK, settings=settings, teams=teams, required_zones=["00001", "00002"], time_limit=3
    )
    visits = save_plan(ws, WEEK, plan, places, change="test").visits
    by_zone = dict(list(visits.groupby("code_zone")))
    assert len(by_zone["00001"]) == len(by_zone["00002"]) == 1  # once a week each
    assert _slot(by_zone["00001"].iloc[0]) == (WEDNESDAY, 14)
    assert _slot(by_zone["00002"].iloc[0]) == (THURSDAY, 10)
    assert set(visits["zone_name"]) == {"Alpha-sur-Test", "Bêta-les-Essais"}
    note = next(n for n in plan.notes if n.startswith("Valeur des créneaux"))
    assert "celui de leur commune pour 2 lieu(x)" in note
    # The territory's profile alone (what the planner read before) says Wednesday for both.
    territory = zone_yields(ws, places.assign(zone_kind="", code_zone=""), settings=settings)
    for row in territory.array:
        assert np.unravel_index(row.argmax(), row.shape) == (WEDNESDAY, 3)  # 14 h


def _fake_profile(best: tuple[int, int]) -> SlotCounts:
    counts = [200 if slot == best else 20 for slot in SLOTS]
    table = pd.DataFrame(
        {
            "count": pd.array(counts, dtype="Int64"),
            "label": [str(c) for c in counts],
            "status": ["publié"] * len(counts),
        }
    )
    return SlotCounts(table, sum(counts), 400)


def test_the_values_read_published_profiles_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Published profiles stand in for the store: no contact row may be read."""
    settings = Settings(secret_path=tmp_path / "s.key")
    ws, _ = _two_communes(tmp_path)
    places = candidate_places(ws)
    zones = place_zones(ws, places)
    asked: list[object] = []

    def profiles(ws: Workspace, *, sets: list[object], **_: object) -> list[SlotCounts]:
        asked.extend(sets)
        best = {"00001": (THURSDAY, 16), "00002": (0, 8)}  # not the stored contacts' slots
        return [
            _fake_profile(best[next(iter(c))] if c and len(c) == 1 else (4, 18)) for c, _ in sets
        ]

    def forbidden(*_: object, **__: object) -> None:
        raise AssertionError("contact rows read by the planner's values")

    monkeypatch.setattr(published, "slot_profiles", profiles)
    monkeypatch.setattr(published, "latest_month", lambda *_, **__: "2026-10")
    monkeypatch.setattr(raw, "contact_frame", forbidden)
    monkeypatch.setattr(raw, "contact_counts", forbidden, raising=False)
    yields = zone_yields(ws, zones, settings=settings)
    assert asked  # the published profiles were asked for
    alpha, beta = yields.array
    assert np.unravel_index(alpha.argmax(), alpha.shape) == (THURSDAY, 4)  # 16 h
    assert np.unravel_index(beta.argmax(), beta.shape) == (0, 0)  # Monday 8 h
    assert alpha.max() == pytest.approx(beta.max())


# ------------------------------------------------------------------------ names
@pytest.fixture(scope="module")
def demo_plan(demo_workspace: Path, tmp_path_factory: pytest.TempPathFactory, settings: Settings):
    path = tmp_path_factory.mktemp("names") / "demo.gpkg"
    shutil.copyfile(demo_workspace, path)
    ws = Workspace.open(path)
    plan, places = plan_week(ws, WEEK, settings=settings, time_limit=3)
    return ws, save_plan(ws, WEEK, plan, places, change="test")


def test_visits_carry_their_zone_by_name_and_code(demo_plan) -> None:
    ws, saved = demo_plan
    qpv = ws.read_table("qpv", columns=["code", "nom"])
    communes = ws.read_table("communes", columns=["code", "nom"])
    names = dict(zip(qpv["code"], qpv["nom"], strict=True))
    names |= dict(zip(communes["code"], communes["nom"], strict=True))
    visits = saved.visits
    assert (visits["zone_name"] == visits["code_zone"].map(names)).all()
    cores = visits[visits["kind"].str.contains("cœur de QPV")]
    assert len(cores) and cores["code_zone"].isin(set(qpv["code"])).all()
    others = visits[~visits["code_zone"].isin(set(qpv["code"]))]
    assert (others["code_zone"] == others["zone"]).all()
    stored = load_plan(ws, WEEK).visits
    assert stored["zone_name"].tolist() == visits["zone_name"].tolist()


def test_a_plan_saved_before_the_names_gets_them_when_read(demo_plan, tmp_path: Path) -> None:
    ws, saved = demo_plan
    copy = tmp_path / "old.gpkg"
    shutil.copyfile(ws.path, copy)
    old = Workspace.open(copy)
    table = old.read_table(VISITS).drop(columns=["zone_name", "code_zone"])
    old.write_table(VISITS, table, source="planificateur", vintage=WEEK)
    again = load_plan(old, WEEK)
    assert again.visits["zone_name"].tolist() == saved.visits["zone_name"].tolist()
    assert again.visits["code_zone"].tolist() == saved.visits["code_zone"].tolist()


def test_exports_show_names_and_keep_codes(demo_plan, tmp_path: Path, settings) -> None:
    ws, saved = demo_plan
    table = pd.read_csv(write_csv(saved, tmp_path / "p.csv"), sep=";", dtype=str)
    assert {"Zone", "Code zone", "Code commune"} <= set(table.columns)
    assert table["Zone"].tolist() == saved.visits["zone_name"].tolist()
    text = (tmp_path / "p.csv").read_text(encoding="utf-8-sig")
    assert not any(place in text for place in saved.visits["place"])  # no internal id
    first = saved.visits.iloc[0]
    calendar = ics_calendars(saved)[first["team"]].decode()
    assert f"Aller-vers : {first['place_name']} ({first['zone_name']})" in calendar.replace(
        "\r\n ", ""
    )
    html = sheet_html(saved, ws, settings=settings)
    assert html_escape(first["zone_name"], quote=True) in html


def test_the_cli_plan_names_zones(demo_workspace: Path, tmp_path: Path, capsys) -> None:
    from territory.cli import main

    path = tmp_path / "demo.gpkg"
    shutil.copyfile(demo_workspace, path)
    args = ["plan", "--workspace", str(path), "--week", WEEK, "--time-limit", "2"]
    assert main(args) == 0
    out = capsys.readouterr().out
    ws = Workspace.open(path)
    saved = load_plan(ws, WEEK)
    for row in saved.visits.head(5).itertuples():
        assert f"{row.place_name} — {row.zone_name}" in out
    assert not any(f" {code}" in out for code in saved.visits["zone"])
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"zone_name", "code_zone", "zone"} <= set(data["visits"][0])


# --------------------------------------------------------------- visits a day
def _import_one_place(ws: Workspace, tmp_path: Path, settings: Settings, per_day: str):
    communes = ws.read_layer("communes").to_crs(4326)
    weekly = min(communes_with_qpv(ws))  # visited every week: no monthly cap
    point = communes[communes["code"] == weekly].geometry.iloc[0].representative_point()
    path = tmp_path / "lieux.csv"
    path.write_text(
        "nom;type;longitude;latitude;nb visites/jour\n"
        f"Gare centrale;gare;{point.x:.6f};{point.y:.6f};{per_day}\n"
        f"Stade;city stade;{point.x:.6f};{point.y:.6f};0\n"
        f"Halle;marché;{point.x:.6f};{point.y:.6f};1,5\n",
        encoding="utf-8",
    )
    report = import_file(ws, "places", path, settings=settings)
    others = [i for i in candidate_places(ws)["id"] if not str(i).startswith("import-")]
    remove_places(ws, others)
    return report, (float(point.x), float(point.y))


@pytest.mark.parametrize(("per_day", "most"), [("2", 2), ("", 1)])
def test_visits_a_day_from_the_places_import(
    demo_workspace: Path, tmp_path: Path, settings: Settings, per_day: str, most: int
) -> None:
    path = tmp_path / "demo.gpkg"
    shutil.copyfile(demo_workspace, path)
    ws = Workspace.open(path)
    report, base = _import_one_place(ws, tmp_path, settings, per_day)
    assert report.accepted == 1 and report.refused == 2
    reasons = " ".join(r.reason for r in report.refusals)
    assert "visites par jour « 0 » invalide" in reasons and "« 1,5 »" in reasons
    stored = candidate_places(ws)
    assert stored["visites_par_jour"].tolist() == [most]
    team = Team("Gare", "marche", base=base, availability={0: ((8 * 60, 20 * 60),)})
    plan, _ = plan_week(ws, WEEK, settings=settings, teams=[team], required_zones=[])
    per_day_count = pd.Series([v.day for v in plan.visits]).value_counts()
    assert per_day_count.max() == most
