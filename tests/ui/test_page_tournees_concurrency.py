"""Two sessions edit one week on the "Tournées" page: a refused save keeps its edit.

The reliability figure of issue #19 item 5: "a two-session test on one week: no edit
lost". Two AppTest sessions on one workspace file, as two people with the app open: A
saves first; B's save, made on the version both opened, is refused with what A changed;
B carries the edit over to A's version and both edits are in the newest version.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from territory.rounds.week import load_plan, plan_history, plan_versions
from territory.store import Workspace
from territory.ui.state import Keys

APP = str(Path(__file__).resolve().parents[2] / "app.py")
MONDAY = date(2026, 11, 30)  # ISO week 2026-W49
WEEK = "2026-W49"
KEY = ["team", "place", "start", "end", "locked"]


def _session(path: Path) -> AppTest:
    """One browser tab: the Tournées page of ``path`` on the week of MONDAY."""
    at = AppTest.from_file(APP, default_timeout=300)
    at.session_state[Keys.WORKSPACE] = str(path)
    at.run()
    at.switch_page("app_pages/tournees.py")
    at.run()
    at.session_state[Keys.W_PLAN_HISTORY_OPEN] = True  # the versions' panel open
    at.date_input(key=Keys.W_PLAN_WEEK).set_value(MONDAY).run()
    assert not at.exception, at.exception
    return at


def _edit(at: AppTest, version: int, *, locked: list[int] = (), deleted: list[int] = ()) -> None:
    """Lock and delete rows of the visits editor (as the browser sends them)."""
    at.session_state[f"{Keys.W_PLAN_EDIT}_{WEEK}_{version}"] = {
        "edited_rows": {str(i): {"locked": True} for i in locked},
        "added_rows": [],
        "deleted_rows": list(deleted),
    }
    at.run()


def _records(visits: pd.DataFrame) -> list[dict]:
    return visits[KEY].sort_values(["team", "start"]).to_dict("records")


@pytest.fixture(scope="module")
def path(demo_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("concurrency") / "demo.gpkg"
    shutil.copyfile(demo_workspace, copy)
    return copy


def test_two_sessions_on_one_week_lose_no_edit(path: Path) -> None:
    a = _session(path)
    a.button(key=Keys.W_PLAN_RUN).click().run()  # version 1
    assert not a.exception, a.exception
    ws = Workspace.open(path)
    first = load_plan(ws, WEEK)
    assert first is not None and first.version == 1
    b = _session(path)  # both sessions now work on version 1
    assert b.session_state[f"{Keys.PLAN_BASE}_{WEEK}"] == 1

    _edit(a, 1, deleted=[0])  # A removes a visit and saves: version 2
    a.button(key=Keys.W_PLAN_SAVE).click().run()
    assert not a.exception, a.exception
    assert [s.value for s in a.success] == ["Version 2 enregistrée."]
    assert [t.value for t in a.toast] == ["Version 2 enregistrée."]  # wherever A scrolled

    _edit(b, 1, locked=[3], deleted=[5])  # B, still on version 1, locks one and removes one
    b.button(key=Keys.W_PLAN_SAVE).click().run()
    assert not b.exception, b.exception
    message = b.error[0].value
    assert message.startswith("Modifications non enregistrées : la semaine a été modifiée")
    assert "(version 2 par application à " in message and "« modifications (page) »" in message
    assert ": 1 visite retirée ;" in message  # what A changed
    assert load_plan(ws, WEEK).version == 2  # nothing written for B
    b.run()  # another rerun (any click): the refusal and B's edit are still there
    assert b.error and b.error[0].value == message
    assert b.session_state[f"{Keys.W_PLAN_EDIT}_{WEEK}_1"]["deleted_rows"] == [5]

    b.button(key=Keys.W_PLAN_REPLAY).click().run()  # B carries the edit over to version 2
    assert not b.exception, b.exception
    done = "Version 3 enregistrée : vos modifications reprises sur la version 2."
    assert [s.value for s in b.success] == [done] and not b.error
    latest = load_plan(ws, WEEK)
    expected = first.visits.drop(index=first.visits.index[[0, 5]])
    expected.loc[first.visits.index[3], "locked"] = True
    assert latest.version == 3 and _records(latest.visits) == _records(expected)
    assert b.session_state[f"{Keys.PLAN_BASE}_{WEEK}"] == 3

    history = plan_history(ws, WEEK)
    assert history["version"].tolist() == [1, 2, 3]
    assert history["change"].tolist()[1:] == [
        "modifications (page)",
        "modifications reprises (page)",
    ]
    assert all(len(v.visits) for v in plan_versions(ws, WEEK))  # no empty version
    shown = next(d.value for d in b.dataframe if "change" in d.value.columns)
    assert shown["version"].tolist() == [1, 2, 3]  # the page's history shows both
    labels = [d.proto.label for d in b.get("download_button")]
    assert "Historique des versions (CSV)" in labels

    a.run()  # A is told that the week moved on
    assert any("version 3 par application" in w.value for w in a.warning)


def test_the_same_edit_in_both_sessions_makes_no_second_version(path: Path) -> None:
    a, b = _session(path), _session(path)
    ws = Workspace.open(path)
    base = load_plan(ws, WEEK)
    for at in (a, b):  # both remove the same visit
        _edit(at, base.version, deleted=[0])
        at.button(key=Keys.W_PLAN_SAVE).click().run()
        assert not at.exception, at.exception
    assert b.error and "modifiée entre-temps" in b.error[0].value
    b.button(key=Keys.W_PLAN_REPLAY).click().run()
    assert not b.exception, b.exception
    assert [s.value for s in b.success] == [
        f"Vos modifications sont déjà dans la version {base.version + 1}."
    ]
    assert load_plan(ws, WEEK).version == base.version + 1 and not b.error
