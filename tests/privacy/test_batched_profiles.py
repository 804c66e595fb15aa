"""Many zones' profiles at once (the planner) publish exactly what one zone at a time does."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from territory import Settings
from territory.analysis.slots import (
    DEFAULT_HOURS,
    SLOT_HOURS,
    contact_profile,
    contact_profiles,
    slot_index,
)
from territory.analysis.zones import load_zones
from territory.privacy import published
from territory.privacy.protect import protect, protect_rows
from territory.store import Workspace

SETTINGS = Settings()


@hsettings(max_examples=200, deadline=None)
@given(
    st.integers(1, 5),
    st.integers(1, 10),
    st.integers(0, 2**31 - 1),
    st.sampled_from([3, 12, 40]),
)
def test_protect_rows_is_protect_of_each_row(rows: int, parts: int, seed: int, scale: int) -> None:
    rng = np.random.default_rng(seed)
    people = rng.integers(0, scale, size=(rows, parts))
    n = people + rng.integers(0, scale, size=(rows, parts)) * (people > 0)
    key = rng.integers(0, 256, size=(rows, parts)) * (n > 0)
    everyone = np.maximum(people.max(axis=1), people.sum(axis=1) - rng.integers(0, 6, rows))
    tables, totals = protect_rows(n, people, key, everyone, settings=SETTINGS)
    for r in range(rows):
        one = pd.DataFrame({"n": n[r], "people": people[r], "key": key[r]})
        expected = protect(one, settings=SETTINGS, total_people=int(everyone[r]))
        got = tables.iloc[r * parts : (r + 1) * parts].reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected.table)
        assert totals[r] == expected.total


def test_every_commune_at_once_is_each_commune_alone(demo_workspace: Path) -> None:
    ws = Workspace.open(demo_workspace)
    settings = Settings(secret_path=demo_workspace.parent / "batched.key")
    period = (date(2025, 11, 1), date(2026, 10, 31))
    slots = tuple(slot_index(DEFAULT_HOURS))
    published._contacts(ws)
    stat = ws.path.stat()
    state = (str(ws.path), stat.st_mtime_ns, ws.version)
    batch = published._commune_batch(*state, period, slots, SLOT_HOURS, None, settings)
    codes = set(ws.read_table("communes", columns=["code"])["code"])
    assert 0 < len(batch) <= len(codes)
    for code, counts in batch.items():
        alone = published._slot_counts(
            state, period, slots, SLOT_HOURS, None, frozenset({code}), None, settings
        )
        pd.testing.assert_frame_equal(counts.table, alone.table)
        assert (counts.total, counts.people) == (alone.total, alone.people)


def test_a_qpv_read_on_codes_is_the_qpv_read_on_units(demo_workspace: Path) -> None:
    ws = Workspace.open(demo_workspace)
    settings = Settings(secret_path=demo_workspace.parent / "batched.key")
    period = (date(2025, 11, 1), date(2026, 10, 31))
    slots = tuple(slot_index(DEFAULT_HOURS))
    published._contacts(ws)
    stat = ws.path.stat()
    state = (str(ws.path), stat.st_mtime_ns, ws.version)
    slotted, _ = published._slotted_cached(*state, period, slots, SLOT_HOURS, None)
    placed = published.place(slotted, published._zones(*state, settings.k))
    codes = published._placed_codes(*state, period, slots, SLOT_HOURS, None, settings.k)
    cells = sorted(set(slotted["cell"].astype(str)))
    for chosen in (cells[:40], cells[::3], cells):
        owner = pd.Series("zone", index=pd.Index(chosen, dtype=object), dtype=object)
        expected = np.flatnonzero(np.asarray(published._units(placed, owner) != published._REST))
        assert np.array_equal(codes.rows(chosen), expected)


def test_many_zones_at_once_are_each_zone_alone(demo_workspace: Path) -> None:
    ws = Workspace.open(demo_workspace)
    settings = Settings(secret_path=demo_workspace.parent / "batched.key")
    communes, qpv = load_zones(ws, "commune"), load_zones(ws, "qpv")
    zones = [(communes.iloc[[i]], "commune") for i in range(0, len(communes), 5)]
    zones += [(qpv.iloc[[i]], "qpv") for i in range(len(qpv))]
    together = contact_profiles(ws, [*zones, None], settings=settings)
    shares = contact_profiles(ws, zones, settings=settings, shares_only=True)
    for (zone, kind), profile, only in zip(zones, together, shares, strict=False):
        alone = contact_profile(ws, settings=settings, zone=zone, kind=kind)
        pd.testing.assert_frame_equal(profile.table, alone.table)
        assert (profile.levels, profile.basis, profile.scope) == (
            alone.levels,
            alone.basis,
            alone.scope,
        )
        np.testing.assert_array_equal(only.table["part"], alone.table["part"])
        assert only.main_level == alone.main_level
    pd.testing.assert_frame_equal(together[-1].table, contact_profile(ws, settings=settings).table)
