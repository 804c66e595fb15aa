"""The caches every session shares (issue #24's load budget): what empties them, what not.

A week's plan saved (the edit a team makes all day) leaves every map and protected figure
cached; any other write (a territory defined, a feedback recorded) makes the next session
read the new data; a session sees a week's newest version at once; results read under one
territorial scope are never handed to a reader of another scope.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from territory.cachekeys import DataKey, data_key
from territory.rounds.week import latest_version, load_plan, plan_week, save_edited, save_plan
from territory.settings import Settings
from territory.store import Workspace
from territory.territories import define_territory
from territory.ui import loaders
from territory.ui.state import Keys

APP = str(Path(__file__).resolve().parents[2] / "app.py")
MONDAY = date(2026, 11, 30)
WEEK = "2026-W49"


@pytest.fixture
def path(demo_workspace: Path, tmp_path: Path, settings: Settings) -> Path:
    """A copy of the demo with a planned week (version 1)."""
    copy = tmp_path / "demo.gpkg"
    shutil.copyfile(demo_workspace, copy)
    ws = Workspace.open(copy)
    plan, places = plan_week(ws, WEEK, settings=settings, solution_limit=5)
    save_plan(ws, WEEK, plan, places, change="optimisation", author="test")
    return copy


def _session(path: Path, page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    at.session_state[Keys.WORKSPACE] = str(path)
    at.run()
    at.switch_page(f"app_pages/{page}.py")
    at.run()
    if page == "tournees":
        at.date_input(key=Keys.W_PLAN_WEEK).set_value(MONDAY).run()
    assert not at.exception, at.exception
    return at


def _lock_first(ws: Workspace) -> int:
    """Another session locks (or unlocks) the first visit: the week's next version."""
    plan = load_plan(ws, WEEK)
    assert plan is not None
    visits = plan.visits.copy()
    visits.loc[visits.index[0], "locked"] = not bool(visits["locked"].iloc[0])
    return save_edited(ws, WEEK, visits, change="verrou", base_version=plan.version).version


def test_a_saved_plan_keeps_the_maps_and_the_next_session_sees_the_new_version(
    path: Path,
) -> None:
    ws = Workspace.open(path)
    key = data_key(ws, None)
    _session(path, "carte")  # the map of the whole workspace, cached
    shown = loaders.cached_map(key, 11, False, "", None)
    assert _lock_first(ws) == 2
    assert data_key(ws, None) == key  # the plan's version moved, not the data's
    assert loaders.cached_map(key, 11, False, "", None) is shown  # not drawn again
    assert latest_version(ws, WEEK) == 2  # read fresh
    b = _session(path, "tournees")  # another session opens the week: the newest version
    assert any(h.value.startswith("Version 2 —") for h in b.subheader), b.subheader
    edited = loaders.cached_plan(key, WEEK, 2)
    assert edited is not None and edited.version == 2
    assert bool(edited.visits["locked"].iloc[0]) != bool(
        loaders.cached_plan(key, WEEK, 1).visits["locked"].iloc[0]
    )


def test_a_session_on_an_older_version_is_told_and_its_save_is_refused(path: Path) -> None:
    a = _session(path, "tournees")  # on version 1
    ws = Workspace.open(path)
    assert _lock_first(ws) == 2  # saved by someone else meanwhile
    a.run()
    assert any("version 2 par" in w.value for w in a.warning), a.warning
    a.session_state[f"{Keys.W_PLAN_EDIT}_{WEEK}_1"] = {
        "edited_rows": {"1": {"locked": True}},
        "added_rows": [],
        "deleted_rows": [],
    }
    a.run()
    a.button(key=Keys.W_PLAN_SAVE).click().run()  # the version check is never cached
    assert a.error and "modifiée entre-temps" in a.error[0].value, a.error
    assert latest_version(ws, WEEK) == 2


def test_a_data_write_makes_the_next_session_read_the_new_data(path: Path) -> None:
    ws = Workspace.open(path)
    before = data_key(ws, None)
    assert "Cœur" not in loaders.cached_territory_names(before)
    communes = sorted(ws.read_layer("communes", columns=["code"])["code"])[:3]
    define_territory(ws, "Cœur", communes=communes)  # a write outside the plans
    after = data_key(ws, None)
    assert after.data > before.data
    assert "Cœur" in loaders.cached_territory_names(after)
    at = _session(path, "accueil")  # a new session lists it at once
    assert "Cœur" in at.selectbox(key=Keys.W_TERRITORY).options
    summary = loaders.cached_summary(after, 11, "Cœur")
    assert summary["communes"] == 3


def test_results_are_shared_only_between_readers_of_one_scope(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A result read under one scope is never handed to a reader of another one."""
    ws = Workspace.open(path)
    key = data_key(ws, None)
    reads: list[tuple[str, ...]] = []
    original = loaders.map_layers

    def counted(*args, **kwargs):
        reads.append(kwargs.pop("scope_seen"))
        return original(*args, **kwargs)

    def layers(key: DataKey) -> object:
        with monkeypatch.context() as patch:
            patch.setattr(
                loaders,
                "map_layers",
                lambda *a, **kw: counted(*a, scope_seen=key.scope, **kw),
            )
            return loaders.cached_layers(key, 11, None)

    loaders.cached_layers.clear()
    sambre = DataKey(key.workspace, key.data, ("Sambre",))
    layers(key)
    layers(key)  # the same scope: read once
    layers(sambre)  # another scope: read again, in its own reader's call
    layers(DataKey(key.workspace, key.data, ("Sambre",)))
    assert reads == [("*",), ("Sambre",)]
    one = loaders.cached_map(key, 11, False, "", None)
    other = loaders.cached_map(sambre, 11, False, "", None)
    assert one is not other  # the rendered maps too: one per scope
