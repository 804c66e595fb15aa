"""Plans that survive two editors: base version, no empty version, restore, moves, feedback."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from territory import EditConflictError, Settings, ValidationError
from territory.rounds.feedback import record_feedback, recorded_feedback
from territory.rounds.week import (
    TIMEZONE,
    candidate_places,
    check_visit_times,
    load_plan,
    move_visit,
    plan_history,
    plan_week,
    replay_edit,
    restore_version,
    save_edited,
    save_plan,
    visit_changes,
)
from territory.store import Workspace

WEEK = "2026-W49"
KEY = ["team", "place", "start", "end", "locked"]
AFTER_THE_WEEK = datetime(2026, 12, 31, tzinfo=TIMEZONE)


@pytest.fixture
def planned(demo_workspace: Path, tmp_path: Path, settings: Settings):
    path = tmp_path / "demo.gpkg"
    shutil.copyfile(demo_workspace, path)
    ws = Workspace.open(path)
    plan, places = plan_week(ws, WEEK, settings=settings, time_limit=2)
    return ws, save_plan(ws, WEEK, plan, places, change="optimisation", author="test")


def _records(visits: pd.DataFrame) -> list[dict]:
    return visits[KEY].sort_values(["team", "start"]).to_dict("records")


def test_the_second_editor_is_refused_and_nothing_is_lost(planned) -> None:
    ws, first = planned
    alice = load_plan(ws, WEEK)  # both open version 1
    bob = load_plan(ws, WEEK)
    mine = alice.visits.copy()
    mine.loc[mine.index[:3], "locked"] = True
    mine = mine.drop(index=mine.index[-1])
    saved = save_edited(
        ws, WEEK, mine, change="3 verrouillées", base_version=alice.version, author="alice"
    )
    assert saved.version == first.version + 1

    theirs = bob.visits.drop(index=bob.visits.index[4])
    with pytest.raises(ValidationError) as refused:
        save_edited(ws, WEEK, theirs, change="1 retirée", base_version=bob.version, author="bob")
    message = str(refused.value)
    assert message.startswith(f"la semaine a été modifiée entre-temps (version {saved.version}")
    assert "par alice à " in message and "3 verrouillées" in message
    assert "1 visite retirée, 3 verrouillées" in message
    assert "reprenez votre modification" in message
    latest = load_plan(ws, WEEK)  # alice's version stands, nothing written for bob
    assert latest.version == saved.version and _records(latest.visits) == _records(mine)

    # bob reloads and makes his change again: both changes are kept
    again = latest.visits.drop(index=latest.visits.index[4])
    third = save_edited(ws, WEEK, again, change="1 retirée", base_version=latest.version)
    assert third.version == saved.version + 1
    assert len(third.visits) == len(first.visits) - 2 and third.visits["locked"].sum() == 3


def test_an_optimisation_on_an_old_version_is_refused(planned, settings: Settings) -> None:
    ws, first = planned
    plan, places = plan_week(ws, WEEK, settings=settings, time_limit=1)
    visits = first.visits.copy()
    visits.loc[visits.index[0], "locked"] = True
    save_edited(ws, WEEK, visits, change="1 verrouillée", base_version=first.version)
    with pytest.raises(ValidationError, match="modifiée entre-temps"):
        save_plan(ws, WEEK, plan, places, change="optimisation", base_version=first.version)


def test_no_empty_or_unchanged_version_is_saved(planned, settings: Settings) -> None:
    ws, first = planned
    with pytest.raises(ValidationError, match="aucune modification"):
        save_edited(ws, WEEK, first.visits, change="rien", base_version=first.version)
    with pytest.raises(ValidationError, match=r"aucune visite.*confirmez"):
        save_edited(ws, WEEK, first.visits.iloc[:0], change="tout", base_version=first.version)
    plan, places = plan_week(ws, WEEK, settings=settings, time_limit=1)
    empty = dataclasses.replace(plan, visits=())
    with pytest.raises(ValidationError, match="aucune visite"):
        save_plan(ws, WEEK, empty, places, change="vide")
    assert plan_history(ws, WEEK)["version"].tolist() == [first.version]
    emptied = save_edited(
        ws, WEEK, first.visits.iloc[:0], change="semaine annulée", base_version=1, allow_empty=True
    )
    assert emptied.visits.empty and load_plan(ws, WEEK).version == 2


def test_visit_changes_in_french() -> None:
    start = datetime(2026, 11, 30, 10, tzinfo=TIMEZONE)
    rows = [
        {
            "team": "A",
            "place": p,
            "start": start,
            "end": start + timedelta(hours=1),
            "locked": False,
        }
        for p in ("x", "y", "z")
    ]
    before = pd.DataFrame(rows).assign(locked=False)
    after = before.copy()
    after.loc[0, ["start", "end"]] = [start + timedelta(hours=2), start + timedelta(hours=3)]
    after.loc[1, "locked"] = True
    after = pd.concat([after.drop(index=2), before.iloc[[2]].assign(place="w")])
    assert visit_changes(before, after) == (
        "1 visite déplacée, 1 ajoutée, 1 retirée, 1 verrouillée"
    )
    assert visit_changes(before, before) == ""
    assert visit_changes(before, before.iloc[:1]) == "2 visites retirées"


def test_restore_an_earlier_version(planned) -> None:
    ws, first = planned
    edited = save_edited(
        ws, WEEK, first.visits.iloc[:4], change="4 gardées", base_version=first.version
    )
    restored = restore_version(ws, WEEK, first.version, author="chef")
    assert restored.version == edited.version + 1
    assert _records(load_plan(ws, WEEK).visits) == _records(first.visits)
    history = plan_history(ws, WEEK)
    assert history["version"].tolist() == [1, 2, 3]  # history kept
    assert history["change"].iloc[-1] == "restauration de la version 1"
    assert history["author"].iloc[-1] == "chef"
    with pytest.raises(ValidationError, match="version 9 inconnue"):
        restore_version(ws, WEEK, 9)
    with pytest.raises(ValidationError, match="déjà la version en cours"):
        restore_version(ws, WEEK, 3)
    with pytest.raises(ValidationError, match="mêmes visites"):
        restore_version(ws, WEEK, 1)


@pytest.mark.parametrize("new_start", ["06:00", "23:30"])
def test_a_move_outside_the_team_hours_is_refused(planned, new_start: str) -> None:
    ws, first = planned
    visits = move_visit(first.visits, first.visits.index[0], new_start)
    with pytest.raises(ValidationError, match="hors des disponibilités de l'équipe") as refused:
        save_edited(ws, WEEK, visits, change="déplacée", base_version=first.version)
    visit = first.visits.iloc[0]
    assert f"{visit['team']}, " in str(refused.value) and new_start in str(refused.value)
    assert load_plan(ws, WEEK).version == first.version


def test_a_move_outside_the_place_hours_is_refused(planned) -> None:
    ws, first = planned
    places = candidate_places(ws)
    hours = dict(zip(places["id"].astype(str), places["horaires"].fillna(""), strict=True))
    limited = first.visits[first.visits["place"].astype(str).map(hours).astype(bool)]
    assert not limited.empty
    moves = [
        (i, f"{m // 60:02d}:{m % 60:02d}") for i in limited.index for m in range(570, 1080, 30)
    ]
    for index, new_start in moves:  # a time in the team's hours when the place is closed
        visits = move_visit(first.visits, index, new_start)
        problems = check_visit_times(ws, WEEK, visits.loc[[index]])
        if problems and all("présence du lieu" in p for p in problems):
            with pytest.raises(ValidationError, match="hors des horaires de présence du lieu"):
                save_edited(ws, WEEK, visits, change="déplacée", base_version=first.version)
            break
    else:
        pytest.fail("no move outside a place's hours found in the demo week")
    # a move that fits both is saved
    assert check_visit_times(ws, WEEK, first.visits) == []


def test_feedback_before_the_visit_is_refused_and_what_is_recorded_is_shown(
    planned, settings: Settings
) -> None:
    ws, first = planned
    visit = first.visits.iloc[0]
    before = visit["start"] - timedelta(minutes=1)
    with pytest.raises(ValidationError, match="pas encore commencé") as refused:
        record_feedback(ws, WEEK, visit, {"hors radars": 2}, settings=settings, now=before)
    assert f"à {visit['start']:%H:%M}" in str(refused.value)
    assert recorded_feedback(ws, WEEK, visit) is None
    record_feedback(ws, WEEK, visit, {"hors radars": 2}, settings=settings, now=AFTER_THE_WEEK)
    assert recorded_feedback(ws, WEEK, visit) == {"hors radars": 2}
    record_feedback(
        ws, WEEK, visit, {"premier contact": 1}, settings=settings, now=visit["start"]
    )  # from its start on
    assert recorded_feedback(ws, WEEK, visit) == {"premier contact": 1}


def test_a_version_saved_during_the_checks_is_a_conflict_too(planned, monkeypatch) -> None:
    """Two saves at the same moment: the one that writes second is refused."""
    from territory.rounds import week as plans

    ws, first = planned
    other = first.visits.iloc[:5]
    checks = plans.check_visit_times

    def meanwhile(*args, **kwargs):  # the other editor's save lands during our checks
        monkeypatch.setattr(plans, "check_visit_times", checks)
        save_edited(ws, WEEK, other, change="5 gardées", base_version=first.version)
        return checks(*args, **kwargs)

    monkeypatch.setattr(plans, "check_visit_times", meanwhile)
    mine = first.visits.drop(index=first.visits.index[0])
    with pytest.raises(
        ValidationError, match=r"modifiée entre-temps \(version 2 par .*« 5 gardées »\)"
    ):
        save_edited(ws, WEEK, mine, change="1 retirée", base_version=first.version)
    latest = load_plan(ws, WEEK)
    assert latest.version == 2 and _records(latest.visits) == _records(other)
    assert plan_history(ws, WEEK)["version"].tolist() == [1, 2]


def test_two_saves_at_the_same_moment_one_wins(planned, monkeypatch) -> None:
    """Two editors (two Workspace objects on one file) save on one version at once.

    Both pass the checks before either writes (a barrier where the checks end): exactly
    one version is written, the other save is refused, no version number is used twice
    and no visit of the refused save lands in the file. Repeated: a race shows or not.
    """
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from territory.rounds import week as plans

    ws, first = planned
    checks = plans.check_visit_times
    both_checked = threading.Barrier(2, timeout=30)

    def together(*args, **kwargs):
        problems = checks(*args, **kwargs)
        both_checked.wait()  # the other editor has passed its checks too
        return problems

    monkeypatch.setattr(plans, "check_visit_times", together)

    def save(who: int, base) -> object:
        mine = Workspace.open(ws.path)  # each editor its own object, as two sessions
        visits = base.visits.drop(index=base.visits.index[who])
        try:
            return save_edited(
                mine, WEEK, visits, change=f"retrait {who}", base_version=base.version
            )
        except ValidationError as exc:
            return exc

    base = first
    for _ in range(4):
        both_checked.reset()
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(save, (0, 1), (base, base)))
        saved = [r for r in results if not isinstance(r, Exception)]
        refused = [r for r in results if isinstance(r, Exception)]
        assert len(saved) == 1 and len(refused) == 1, results
        assert "modifiée entre-temps" in str(refused[0])
        latest = load_plan(ws, WEEK)
        assert latest.version == base.version + 1 == saved[0].version
        assert _records(latest.visits) == _records(saved[0].visits)
        base = latest
    assert plan_history(ws, WEEK)["version"].tolist() == list(range(1, base.version + 1))
    stored = ws.query("SELECT version, count(*) AS n FROM plan_visits GROUP BY version")
    assert stored["n"].tolist() == [len(first.visits) - v + 1 for v in stored["version"]]


def test_a_refused_edit_is_carried_over_to_the_newest_version(planned) -> None:
    ws, first = planned
    visits = first.visits
    alice = visits.drop(index=visits.index[0])
    alice.loc[visits.index[1], "locked"] = True
    saved = save_edited(ws, WEEK, alice, change="alice", base_version=1, author="alice")

    bob = visits.drop(index=visits.index[5])  # bob's own change…
    bob.loc[visits.index[6], "locked"] = True
    bob.loc[visits.index[1], "locked"] = True  # …one alice made too…
    bob = bob.drop(index=visits.index[0])
    with pytest.raises(EditConflictError):
        save_edited(ws, WEEK, bob, change="bob", base_version=1, author="bob")
    carried, skipped = replay_edit(visits, bob, saved.visits)
    assert skipped == []
    order = list(zip(carried["team"], carried["start"], strict=True))  # as alice's version
    theirs = zip(saved.visits["team"], saved.visits["start"], strict=True)
    assert order == [v for v in theirs if v in order]
    third = save_edited(ws, WEEK, carried, change="bob", base_version=saved.version)
    expected = visits.drop(index=visits.index[[0, 5]])
    expected.loc[visits.index[[1, 6]], "locked"] = True
    assert _records(third.visits) == _records(expected)

    # a visit both changed: the other version's stays, and the page can say so
    theirs = third.visits.copy()
    theirs.loc[theirs.index[2], "locked"] = not theirs.at[theirs.index[2], "locked"]
    mine = third.visits.drop(index=third.visits.index[2])
    carried, skipped = replay_edit(third.visits, mine, theirs)
    assert _records(carried) == _records(theirs) and len(skipped) == 1
    assert "modifiée aussi dans l'autre version" in skipped[0]


def test_two_feedbacks_of_one_visit_at_the_same_moment_one_stands(
    planned, settings: Settings, monkeypatch
) -> None:
    """Two sessions record one visit at once: one recording stands, never both (counted twice).

    Both have appended their contacts before either replaces the earlier recording (a
    barrier there): the one that settles second is refused and leaves nothing.
    """
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from territory.rounds import feedback

    ws, first = planned
    visit = first.visits.iloc[0]
    appended = feedback.append_contacts
    both_appended = threading.Barrier(2, timeout=30)

    def together(*args, **kwargs):
        done = appended(*args, **kwargs)
        both_appended.wait()
        return done

    monkeypatch.setattr(feedback, "append_contacts", together)
    before = ws.layers()["contacts"].count

    def record(n: int) -> object:
        mine = Workspace.open(ws.path)
        try:
            return record_feedback(
                mine, WEEK, visit, {"hors radars": n}, settings=settings, now=AFTER_THE_WEEK
            )
        except ValidationError as exc:
            return exc

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(record, (3, 5)))
    stood = [r for r in results if not isinstance(r, Exception)]
    assert len(stood) == 1, results
    assert "vient d'être enregistré" in str(next(r for r in results if r not in stood))
    assert recorded_feedback(ws, WEEK, visit) == {"hors radars": stood[0]}
    assert ws.layers()["contacts"].count == before + stood[0]


def test_a_recording_seen_running_then_settled_by_another_session_is_not_replaced(
    planned, settings: Settings, monkeypatch
) -> None:
    """The second session looks while the first is still running, then settles after it.

    The first recording's contacts are already stored when the second looks, so its
    batch is among those the second would replace; it settles first: the second is
    refused and leaves nothing, the first stands (CI found the second replacing it).
    """
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from territory.rounds import feedback

    ws, first = planned
    visit = first.visits.iloc[1]
    appended = feedback.append_contacts
    first_appended, second_appended = threading.Event(), threading.Event()
    first_done = threading.Event()

    def in_turn(*args, **kwargs):
        done = appended(*args, **kwargs)
        if not first_appended.is_set():
            first_appended.set()
            assert second_appended.wait(60)  # the second looks and appends meanwhile
        else:
            second_appended.set()
            assert first_done.wait(60)  # the first settles before the second
        return done

    monkeypatch.setattr(feedback, "append_contacts", in_turn)
    before = ws.layers()["contacts"].count

    def record(n: int) -> object:
        try:
            return record_feedback(
                Workspace.open(ws.path), WEEK, visit, {"hors radars": n},
                settings=settings, now=AFTER_THE_WEEK,
            )  # fmt: skip
        except ValidationError as exc:
            return exc
        finally:
            if n == 3:
                first_done.set()

    with ThreadPoolExecutor(2) as pool:
        one = pool.submit(record, 3)
        assert first_appended.wait(60)
        two = pool.submit(record, 5)
        results = [one.result(), two.result()]
    assert results[0] == 3, results
    assert "vient d'être enregistré" in str(results[1])
    assert recorded_feedback(ws, WEEK, visit) == {"hors radars": 3}
    assert ws.layers()["contacts"].count == before + 3
