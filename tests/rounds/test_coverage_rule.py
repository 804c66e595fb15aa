"""The monthly rural round: read from the density labels, and said inactive without the grid."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from territory import Settings
from territory.rounds.value import RURAL_RULE_OFF, coverage_zones, rule_notes
from territory.rounds.week import plan_week, week_monday
from territory.store import Workspace

WEEK = "2026-W49"


def workspace(tmp_path: Path, labels: list[object]) -> Workspace:
    ws = Workspace.create(tmp_path / "w.gpkg", name="test")
    n = len(labels)
    communes = gpd.GeoDataFrame(
        {
            "code": [f"1400{i}" for i in range(n)],
            "nom": [f"C{i}" for i in range(n)],
            "densite": pd.array([pd.NA] * n, dtype="Int64"),
            "densite_libelle": pd.array(labels, dtype="string"),
        },
        geometry=[shapely.box(i * 1000, 0, i * 1000 + 1000, 1000) for i in range(n)],
        crs="EPSG:2154",
    )
    ws.write_layer("communes", communes, source="test", vintage="2024")
    return ws


def due_over_a_month(ws: Workspace) -> set[str]:
    monday = week_monday(WEEK)
    return {c for w in range(4) for c in coverage_zones(ws, monday + timedelta(weeks=w))}


def test_without_the_density_grid_the_rural_rule_says_it_is_off(tmp_path: Path) -> None:
    ws = workspace(tmp_path, [None, None])
    assert due_over_a_month(ws) == set()
    assert rule_notes(ws) == [RURAL_RULE_OFF]
    assert "territory import density" in RURAL_RULE_OFF


def test_rural_communes_are_read_from_the_labels_whatever_the_levels(tmp_path: Path) -> None:
    # a 3-level grid (« Rural » is level 3 there): levels ≥ 5 would find no rural commune
    ws = workspace(tmp_path, ["Urbain dense", "Rural", "Bourgs ruraux", None])
    assert due_over_a_month(ws) == {"14001", "14002"}
    notes = rule_notes(ws)
    assert len(notes) == 1 and "partielle : 1 commune(s) sans classe de densité (C3)" in notes[0]


def test_the_plan_says_the_rural_rule_is_off(
    demo_workspace: Path, tmp_path: Path, settings: Settings
) -> None:
    path = tmp_path / "demo.gpkg"
    shutil.copyfile(demo_workspace, path)
    ws = Workspace.open(path)
    info = ws.layers()["communes"]
    communes = ws.read_layer("communes")
    communes = communes.assign(
        densite_libelle=pd.array([None] * len(communes), dtype="string"),
        densite=pd.array([None] * len(communes), dtype="Int64"),
    )
    ws.write_layer("communes", communes, source=info.source, vintage=info.vintage)
    assert ws.read_table("communes")["densite_libelle"].isna().all()
    plan, _ = plan_week(ws, WEEK, settings=settings, time_limit=1)
    assert RURAL_RULE_OFF in plan.notes


@pytest.mark.parametrize("labels", [["Bourgs ruraux", "Petites villes"]])
def test_no_note_when_every_commune_has_its_class(tmp_path: Path, labels: list[str]) -> None:
    assert rule_notes(workspace(tmp_path, labels)) == []
