"""The keys of the shared caches: the data version and the reader's scope (issue #24's load).

On both engines (``TERRITORY_TEST_BACKEND=postgres`` runs these on the server): a week's
new version leaves ``data_version`` where it was, every other write moves it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from territory._layout import PLAN_TABLES
from territory.access.identity import Role
from territory.access.permissions import Access, Grant
from territory.cachekeys import EVERYTHING, DataKey, data_key, scope_of
from territory.rounds import plan_tables, week
from territory.store import Workspace


def _version_rows(n: int) -> dict[str, pd.DataFrame]:
    plans = pd.DataFrame(
        {
            "week": ["2026-W49"],
            "version": [n],
            "territory": [""],  # the whole workspace's week
            "created": [""],
            "author": ["lea"],
            "change": [f"v{n}"],
            "objective": [1.0],
        }
    )
    visits = pd.DataFrame(
        {"week": ["2026-W49"] * 2, "version": [n, n], "territory": "", "team": ["A", "B"]}
    )
    return {"plans": plans, "plan_visits": visits}


def test_a_new_version_of_a_week_leaves_the_data_version(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "w.gpkg", name="w")
    ws.set_property("note", "x")  # any write: both move
    version, data = ws.version, ws.data_version
    assert data == version
    ws.append_rows(_version_rows(1), source="planificateur", vintage="2026-W49")
    ws.append_rows(_version_rows(2), source="planificateur", vintage="2026-W49")
    assert ws.version == version + 2
    assert ws.data_version == data  # the maps and figures stay cached
    assert plan_tables.latest_version(ws, "2026-W49") == 2  # read fresh: the new version
    assert plan_tables.latest_version(ws, "2026-W50") is None


def test_every_other_write_moves_the_data_version(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "w.gpkg", name="w")
    ws.append_rows(_version_rows(1), source="planificateur", vintage="2026-W49")
    before = ws.data_version
    ws.set_property("places_removed", "[]")  # a property (weights, removed places)
    assert ws.data_version == ws.version > before
    before = ws.data_version
    other = {"teams": pd.DataFrame({"nom": ["A"]})}
    ws.append_rows(other, source="équipes", vintage="")  # another table
    assert ws.data_version == ws.version > before
    before = ws.data_version
    mixed = {**_version_rows(2), **other}  # a plan table with another: not plans only
    ws.append_rows(mixed, source="x", vintage="")
    assert ws.data_version == ws.version > before
    before = ws.data_version
    with ws.transaction(what="journal"):  # the batch log's writes
        pass
    assert ws.data_version == ws.version > before
    before = ws.data_version
    ws.delete_rows("plan_visits", "version = ?", (1,))  # a plan removed: not an append
    assert ws.data_version == ws.version > before


def test_a_workspace_written_before_the_data_version_starts_from_its_version(
    tmp_path: Path,
) -> None:
    ws = Workspace.create(tmp_path / "w.gpkg", name="w")
    ws.set_property("note", "x")
    with ws.transaction(what="ancien espace") as con:  # as written by an earlier version
        con.execute("DELETE FROM territory_workspace WHERE key = 'data_version'")
    assert ws.data_version == ws.version  # no property: every write counts
    start = ws.version
    ws.append_rows(_version_rows(1), source="planificateur", vintage="2026-W49")
    assert ws.version == start + 1
    assert ws.data_version == start  # the first plan saved sets it from then on


def test_the_plan_tables_are_the_weeks_tables() -> None:
    assert {week.PLANS, week.VISITS} == set(PLAN_TABLES)
    assert (plan_tables.PLANS, plan_tables.VISITS) == (week.PLANS, week.VISITS)


def test_a_week_is_quoted_in_its_filter(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "w.gpkg", name="w")
    ws.append_rows(_version_rows(1), source="planificateur", vintage="2026-W49")
    assert plan_tables.latest_version(ws, "x' OR '1'='1") is None
    assert plan_tables.plan_history(ws, "x' OR '1'='1").empty
    assert plan_tables.latest_version(ws, "2026-W49", "x' OR '1'='1") is None  # a territory
    assert plan_tables.latest_version(ws, "2026-W49", "Nord") is None  # another's week
    assert list(plan_tables.plan_history(ws, "2026-W49")["version"]) == [1]


def test_the_scope_is_the_granted_territories() -> None:
    assert scope_of(None, "nord") == EVERYTHING  # the laptop app
    admin = Access("admin@x.fr", (Grant(Role.ADMIN),))
    assert scope_of(admin, "nord") == EVERYTHING
    lead = Access(
        "lea@x.fr",
        (
            Grant(Role.CHEF_EQUIPE, "nord", "Sambre"),
            Grant(Role.COMITE, "nord", "Avesnois"),
            Grant(Role.CHEF_EQUIPE, "sud", None),
        ),
    )
    assert scope_of(lead, "nord") == ("Avesnois", "Sambre")  # sorted: one key per scope
    assert scope_of(lead, "sud") == EVERYTHING
    assert scope_of(lead, "est") == ()  # no grant: a key of its own, never another's
    other = Access("max@x.fr", (Grant(Role.CHEF_EQUIPE, "nord", "Sambre"),))
    assert scope_of(other, "nord") != scope_of(lead, "nord")


def test_two_readers_of_one_workspace_share_a_key_only_with_one_scope(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "nord.gpkg", name="nord")
    sambre = Access("a@x.fr", (Grant(Role.CHEF_EQUIPE, "nord", "Sambre"),))
    also_sambre = Access("b@x.fr", (Grant(Role.COMITE, "nord", "Sambre"),))
    avesnois = Access("c@x.fr", (Grant(Role.CHEF_EQUIPE, "nord", "Avesnois"),))
    key = data_key(ws, sambre)
    assert key == DataKey(ws.key, ws.data_version, ("Sambre",))
    assert data_key(ws, also_sambre) == key  # same rows: one cached result
    assert data_key(ws, avesnois) != key
    assert data_key(ws, None) != key


def test_the_key_is_read_once_per_workspace_object_and_after_its_own_writes(
    tmp_path: Path,
) -> None:
    ws = Workspace.create(tmp_path / "w.gpkg", name="w")
    first = data_key(ws, None)
    other = Workspace.open(tmp_path / "w.gpkg")  # another session's object
    other.set_property("note", "x")
    assert data_key(ws, None) == first  # this run's snapshot: the next run sees it
    assert data_key(Workspace.open(tmp_path / "w.gpkg"), None).data > first.data
    ws.set_property("note", "y")  # a write of this run: seen at once
    assert data_key(ws, None).data == ws.data_version > first.data
