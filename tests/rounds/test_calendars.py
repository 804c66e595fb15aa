"""Calendars of the rounds (issue #19, item 6).

One event per visit, one UID per visit across versions, removed visits cancelled, times in
Europe/Paris with its VTIMEZONE.
"""

from __future__ import annotations

import dataclasses
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from icalendar import Calendar

from territory import Settings
from territory.cli import main
from territory.rounds.outputs import ics_calendars, visit_uids, write_ics, zone_of
from territory.rounds.week import (
    TIMEZONE,
    WeekPlan,
    load_plan,
    move_visit,
    plan_versions,
    plan_week,
    save_edited,
    save_plan,
)
from territory.store import Workspace

WEEK = "2026-W49"


@pytest.fixture(scope="module")
def versions(demo_workspace: Path, tmp_path_factory: pytest.TempPathFactory, settings: Settings):
    """v1 optimised; v2: two visits removed, one moved (locked); v3 re-optimised."""
    path = tmp_path_factory.mktemp("calendars") / "demo.gpkg"
    shutil.copyfile(demo_workspace, path)
    ws = Workspace.open(path)
    plan, places = plan_week(ws, WEEK, settings=settings, time_limit=3)
    first = save_plan(ws, WEEK, plan, places, change="optimisation", author="test")
    visits = first.visits.drop(index=first.visits.index[-2:])
    moved_index = visits.index[0]
    start = visits.at[moved_index, "start"]
    visits = move_visit(visits, moved_index, f"{(start + timedelta(minutes=30)):%H:%M}")
    second = save_edited(
        ws, WEEK, visits, change="2 visites retirées, 1 déplacée", base_version=first.version
    )
    plan, places = plan_week(ws, WEEK, settings=settings, time_limit=3)
    third = save_plan(ws, WEEK, plan, places, change="ré-optimisation", author="test")
    return ws, path, first, second, third, moved_index


def _events(content: bytes) -> list:
    return Calendar.from_ical(content).walk("VEVENT")


def _all_events(plan: WeekPlan, earlier: list[WeekPlan] | None = None) -> list:
    return [e for c in ics_calendars(plan, earlier=earlier or []).values() for e in _events(c)]


def test_one_event_per_visit_with_distinct_uids_in_paris_time(versions, tmp_path: Path) -> None:
    _, _, first, *_ = versions
    written = write_ics(first, tmp_path / "tournees.ics")
    assert len(written) == first.visits["team"].nunique()
    events = []
    for path in written:
        content = path.read_bytes()
        assert b"UTC+01:00" not in content and b"TZID=Europe/Paris" in content
        calendar = Calendar.from_ical(content)
        assert [str(tz["tzid"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Paris"]
        for event in calendar.walk("VEVENT"):
            events.append(event)
            assert event["dtstart"].params["TZID"] == "Europe/Paris"
            assert event["dtend"].params["TZID"] == "Europe/Paris"
            start = event.decoded("dtstart")
            assert str(start.tzinfo) == "Europe/Paris" and start.isocalendar().week == 49
            assert int(event["sequence"]) == first.version
            assert event.decoded("dtstamp") == first.created.astimezone(UTC)
            assert str(event["status"]) == "CONFIRMED"
            assert str(event["summary"]).startswith("Aller-vers : ")
            assert str(event["description"]).startswith("Équipe ")
    uids = [str(e["uid"]) for e in events]
    assert len(events) == len(first.visits) and len(set(uids)) == len(uids)
    assert visit_uids(dataclasses.replace(first, version=99)).equals(visit_uids(first))
    assert set(uids) == set(visit_uids(first))
    # the times are the visits' own (no shift through the time zone)
    starts = sorted(e.decoded("dtstart") for e in events)
    assert starts == sorted(first.visits["start"])


def test_a_place_visited_twice_by_a_team_gets_two_uids_kept_when_moved() -> None:
    monday = datetime(2026, 11, 30, tzinfo=TIMEZONE)
    row = {"place_name": "Marché", "kind": "marché", "zone": "14118", "lon": -0.36}
    rows = [
        {"team": "A", "place": "P1", "start": monday + timedelta(hours=10)},
        {"team": "A", "place": "P1", "start": monday + timedelta(days=3, hours=10)},
        {"team": "B", "place": "P1", "start": monday + timedelta(hours=10)},
        {"team": "A", "place": "P2", "start": monday + timedelta(days=1, hours=14)},
    ]
    visits = pd.DataFrame([{**row, **r, "lat": 49.18, "locked": False, "value": 1.0} for r in rows])
    visits["end"] = visits["start"] + timedelta(minutes=45)
    plan = WeekPlan(WEEK, 1, visits, (), 4.0)
    events = _all_events(plan)
    uids = [str(e["uid"]) for e in events]
    assert len(events) == 4 and len(set(uids)) == 4
    # the Thursday visit moved to Friday afternoon keeps its UID (an update, not a copy)
    moved = visits.copy()
    moved.loc[1, "start"] = visits.at[1, "start"] + timedelta(days=1, hours=4)
    moved.loc[1, "end"] = moved.at[1, "start"] + timedelta(minutes=45)
    again = WeekPlan(WEEK, 2, moved, (), 4.0)
    assert visit_uids(again).tolist() == visit_uids(plan).tolist()
    events = _all_events(again, [plan])
    assert len(events) == 4 and not [e for e in events if str(e["status"]) == "CANCELLED"]
    # a plan made in memory (never saved) is stamped now
    assert all(e.decoded("dtstamp").tzinfo is not None for e in events)


def test_a_new_version_updates_events_and_cancels_removed_visits(versions) -> None:
    ws, _, first, second, third, moved_index = versions
    earlier = plan_versions(ws, WEEK, before=second.version)
    assert [p.version for p in earlier] == [first.version]
    assert earlier[0].created == first.created
    uid1, uid2 = visit_uids(first), visit_uids(second)
    # unchanged visits and the moved one keep their UID
    kept = first.visits.index[:-2]
    assert uid2.tolist() == uid1.loc[kept].tolist()
    assert second.visits.loc[0, "start"] != first.visits.loc[moved_index, "start"]
    events = _all_events(second, earlier)
    by_uid = {str(e["uid"]): e for e in events}
    assert len(by_uid) == len(events) == len(first.visits)
    cancelled = {u for u, e in by_uid.items() if str(e["status"]) == "CANCELLED"}
    assert cancelled == set(uid1.iloc[-2:])
    assert all(int(e["sequence"]) == second.version for e in events)
    assert all(e.decoded("dtstamp") == second.created.astimezone(UTC) for e in events)
    assert all("annulée" in str(by_uid[u]["description"]) for u in cancelled)
    moved = by_uid[uid1.loc[moved_index]]
    assert moved.decoded("dtstart") == second.visits.loc[0, "start"]
    # the re-optimised version keeps the locked visit's UID
    uid3 = visit_uids(third)
    locked = third.visits[third.visits["locked"]]
    assert uid1.loc[moved_index] in set(uid3.loc[locked.index])


def test_importing_every_version_in_turn_leaves_the_last_plan(versions) -> None:
    """A calendar app keeps one event per UID, the highest SEQUENCE, drops the cancelled."""
    ws, *_ = versions
    app: dict[str, tuple[int, object]] = {}
    all_versions = plan_versions(ws, WEEK)
    for n, version in enumerate(all_versions):
        for event in _all_events(version, all_versions[:n]):
            uid, sequence = str(event["uid"]), int(event["sequence"])
            if uid not in app or app[uid][0] <= sequence:
                app[uid] = (sequence, event)
        shown = {
            (str(e["summary"]), e.decoded("dtstart"))
            for _, e in app.values()
            if str(e["status"]) != "CANCELLED"
        }
        expected = {
            (f"Aller-vers : {v.place_name} ({zone_of(v)[0]})", v.start)
            for v in version.visits.itertuples(index=False)
        }
        assert shown == expected


def test_cli_export_cancels_what_the_last_version_removed(versions, tmp_path: Path) -> None:
    ws, path, first, *_ = versions
    last = load_plan(ws, WEEK)
    out = tmp_path / "cal" / "tournees.ics"
    args = ["plan", "export", "--workspace", str(path), "--week", WEEK, "--out", str(out)]
    assert main(args) == 0
    events = [e for f in sorted(out.parent.glob("*.ics")) for e in _events(f.read_bytes())]
    live = [e for e in events if str(e["status"]) != "CANCELLED"]
    assert len(live) == len(last.visits)
    ever = set(visit_uids(first)) | {u for p in plan_versions(ws, WEEK) for u in visit_uids(p)}
    assert {str(e["uid"]) for e in events} == ever
    assert all(int(e["sequence"]) == last.version for e in events)
