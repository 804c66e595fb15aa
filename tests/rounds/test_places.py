"""Places created by hand (a click on the map) and removed: checks, zone, storage."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from territory import ValidationError
from territory.rounds.week import add_places, candidate_places, new_place, plan_week, remove_places
from territory.store import Workspace


@pytest.fixture
def ws(demo_workspace: Path, tmp_path: Path) -> Workspace:
    path = tmp_path / "demo.gpkg"
    shutil.copyfile(demo_workspace, path)
    return Workspace.open(path)


def _inside(ws: Workspace, i: int = 0) -> tuple[str, float, float]:
    communes = ws.read_layer("communes").to_crs(4326)
    point = communes.geometry.iloc[i].representative_point()
    return str(communes["code"].iloc[i]), point.x, point.y


def test_a_new_place_takes_the_commune_under_it(ws: Workspace) -> None:
    code, lon, lat = _inside(ws, 5)
    place = new_place(
        ws, name=" Marché couvert ", kind="Marché", lon=lon, lat=lat, hours="Sa 08:00-12:00"
    )
    row = place.iloc[0]
    assert (row["nom"], row["type"], row["zone"], row["horaires"]) == (
        "Marché couvert",
        "marché",
        code,
        "Sa 08:00-12:00",
    )
    assert place.crs.to_epsg() == 4326 and row.geometry.x == pytest.approx(lon)
    assert row["id"].startswith("carte-")


def test_every_problem_of_a_new_place_is_listed(ws: Workspace) -> None:
    with pytest.raises(ValidationError) as caught:
        new_place(ws, name="", kind="piscine", lon=5.37, lat=43.30, hours="mercredi", duration=0)
    message = str(caught.value)
    for part in (
        "nom manquant",
        "type « piscine » inconnu",
        "illisible",
        "durée",
        "hors des communes",
    ):
        assert part in message
    with pytest.raises(ValidationError, match="position manquante"):
        new_place(ws, name="Parc", kind="parc", lon=None, lat=None)


def test_added_then_removed_places_are_stored_and_planned(ws: Workspace, settings) -> None:
    _, lon, lat = _inside(ws, 2)
    before = candidate_places(ws)
    lon += 0.003  # 230 m from the commune's generated centre (on it, it would replace it)
    place = new_place(ws, name="City stade des Acacias", kind="city stade", lon=lon, lat=lat)
    assert add_places(ws, place, source="test") == len(before) + 1
    stored = candidate_places(ws)
    assert set(before["id"]) < set(stored["id"])  # the other places stay
    _, places = plan_week(ws, "2026-W49", settings=settings, time_limit=1.0)
    assert place["id"].iloc[0] in set(places["id"])
    assert remove_places(ws, [place["id"].iloc[0]]) == len(before)
    assert place["id"].iloc[0] not in set(candidate_places(ws)["id"])
    with pytest.raises(ValidationError, match="inconnu"):
        remove_places(ws, ["pas-un-lieu"])
