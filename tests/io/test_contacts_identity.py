"""The identity of a contact row is its normalised content, not its file's layout."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from samples import HEADER, ROWS, two_communes_workspace, write

from territory import Settings
from territory.ingest import import_file
from territory.io.contacts import read_contacts
from territory.store import Workspace

TODAY = date(2026, 3, 1)
SECRET = b"0" * 32


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(secret_path=tmp_path / "secret" / "key")


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """Two square communes holding the sample contacts."""
    return two_communes_workspace(tmp_path / "w.gpkg")


def relaid(path: Path, source: Path, *, order: list[str], rename: dict[str, str]) -> Path:
    """``source`` with its columns in ``order`` (others dropped), some renamed, as ``path``."""
    with source.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, delimiter=";")
        out.writerow([rename.get(c, c) for c in order])
        out.writerows([[row.get(c, "") for c in order] for row in rows])
    return path


COLUMNS = HEADER.split(";")


@pytest.mark.parametrize(
    ("order", "rename"),
    [
        pytest.param(COLUMNS, {}, id="the same file"),
        pytest.param(COLUMNS[::-1], {}, id="columns reordered"),
        pytest.param(
            COLUMNS, {"id_personne": "identifiant", "date_contact": "horodatage"}, id="renamed"
        ),
        pytest.param(COLUMNS[:-1], {}, id="free-text column dropped"),
        pytest.param([*COLUMNS, "couleur"], {}, id="unknown column added"),
        pytest.param(["latitude", *COLUMNS[:2], *COLUMNS[3:]], {}, id="shuffled, lat first"),
    ],
)
def test_the_same_rows_in_another_layout_add_nothing(
    ws: Workspace, tmp_path: Path, settings: Settings, order: list[str], rename: dict[str, str]
) -> None:
    source = write(tmp_path / "equipe.csv", ROWS)
    first = import_file(ws, "contacts", source, settings=settings, today=TODAY)
    assert first.accepted == ws.layers()["contacts"].count == 5
    other = relaid(tmp_path / "export.csv", source, order=order, rename=rename)

    again = import_file(ws, "contacts", other, settings=settings, today=TODAY)

    assert again.accepted == again.already == 5
    assert ws.layers()["contacts"].count == 5
    assert any("5 contact(s) déjà présents" in n for n in again.notes)


def test_two_identical_rows_are_two_contacts_once(
    ws: Workspace, tmp_path: Path, settings: Settings
) -> None:
    source = write(tmp_path / "equipe.csv", [ROWS[0], ROWS[1], ROWS[0]])
    first = import_file(ws, "contacts", source, settings=settings, today=TODAY)
    assert (first.accepted, first.refused, first.already) == (3, 0, 0)
    assert ws.layers()["contacts"].count == 3
    assert any("1 ligne(s) identique(s)" in n for n in first.notes)
    again = import_file(ws, "contacts", source, settings=settings, today=TODAY)
    assert (again.accepted, again.already) == (3, 3)
    assert ws.layers()["contacts"].count == 3
    # a later file with the row three times: only the third is new
    more = write(tmp_path / "plus.csv", [ROWS[0], ROWS[0], ROWS[0]])
    third = import_file(ws, "contacts", more, settings=settings, today=TODAY)
    assert (third.accepted, third.already) == (3, 2)
    assert ws.layers()["contacts"].count == 4


def test_a_row_that_differs_after_normalisation_is_another_row(tmp_path: Path) -> None:
    communes = gpd.GeoDataFrame(
        {"code": ["00001"]}, geometry=[shapely.box(2.70, 46.40, 2.80, 46.50)], crs=4326
    )
    base = ROWS[1]  # 03/02/2026 14:50, cell of 2.7513 46.4512, hors radars, P0002
    rows = [
        base,
        base.replace("2,751300", "2,751301"),  # same 200 m cell: the same row
        base.replace("14:50", "15:50"),  # another hour
        base.replace("hors radars", "suivi"),  # another status
        base.replace("P0002", "P0009"),  # another person
        base.replace(";;P0002;", ";mission locale;P0002;"),  # oriented to a partner
        base.replace("2,751300", "2,771300"),  # another cell
    ]
    result = read_contacts(write(tmp_path / "c.csv", rows), communes=communes, secret=SECRET)
    prints = result.rows["fingerprint"].tolist()
    assert len(set(prints)) == len(rows)  # the second row is numbered: both are kept
    alone = read_contacts(write(tmp_path / "d.csv", rows[1:2]), communes=communes, secret=SECRET)
    assert alone.rows["fingerprint"].tolist() == prints[:1]  # in a file of its own: the first
