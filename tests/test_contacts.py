"""Contact logs: French conventions, exact accounting, anonymisation at the door."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from territory import InputFileError, Settings
from territory.contacts import read_contacts
from territory.ingest import import_file
from territory.store import Workspace

SECRET = b"0" * 32
HEADER = (
    "date_contact;longitude;latitude;statut;tranche_age;sexe;partenaire_orientation;"
    "id_personne;commentaire"
)
ROWS = [
    "03/02/2026 14:35;2,751234;46,451234;premier contact;18-21;F;mission locale;P0001;"
    "près du city stade",
    "03/02/2026 14:50;2,751300;46,451200;hors radars;22-25;H;;P0002;",
    "2026-02-04T17:05:00;2,752;46,452;Contact répété;26-29;M;;P0001;",
    "31/02/2026 14:00;2,75;46,45;premier contact;18-21;F;;P0003;",  # impossible date
    "05/02/2026 10:00;;;premier contact;18-21;F;;P0004;",  # no location
    "05/02/2026 11:00;46,4512;2,7512;premier contact;18-21;F;;P0005;",  # lat/lon swapped
    "05/02/2026 12:00;5,9;43,1;premier contact;18-21;F;;P0006;",  # outside the territory
    "06/02/2026 15:00;2,7515;46,4515;statut inventé;18-21;F;;P0007;",  # unknown status
]


@pytest.fixture
def communes() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": ["00001", "00002"]},
        geometry=[shapely.box(2.70, 46.40, 2.76, 46.50), shapely.box(2.76, 46.40, 2.80, 46.50)],
        crs=4326,
    )


def write(path: Path, rows: list[str], *, encoding: str = "utf-8-sig") -> Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding=encoding)
    return path


def test_exact_accounting_with_reasons(tmp_path: Path, communes: gpd.GeoDataFrame) -> None:
    result = read_contacts(write(tmp_path / "c.csv", ROWS), communes=communes, secret=SECRET)
    r = result.report
    assert r.read == len(ROWS) == r.accepted + r.refused + r.pending
    assert (r.accepted, r.refused) == (5, 3)
    reasons = {x.row: x.reason for x in r.refusals}
    assert reasons == {
        5: "date illisible",
        6: "localisation manquante ou illisible",
        8: "hors du territoire (aucune commune)",
    }
    assert any("inversées" in f for f in r.fixes) and any("statut" in f for f in r.fixes)


def test_only_cells_hours_and_hashes_are_kept(tmp_path: Path, communes: gpd.GeoDataFrame) -> None:
    rows = read_contacts(write(tmp_path / "c.csv", ROWS), communes=communes, secret=SECRET).rows
    assert list(rows.columns) == [
        "cell",
        "commune",
        "date",
        "hour",
        "statut",
        "tranche_age",
        "sexe",
        "partenaire",
        "personne",
        "fingerprint",
    ]
    assert rows["cell"].str.fullmatch(r"CRS3035RES200mN\d+E\d+").all()
    assert "P0001" not in rows.to_string() and "stade" not in rows.to_string()
    # the same person gets the same keyed hash, so distinct people can be counted
    assert rows["personne"].iloc[0] == rows["personne"].iloc[2]
    assert rows["hour"].tolist()[:3] == [14, 14, 17]


def test_windows_1252_and_comma_separated(tmp_path: Path, communes: gpd.GeoDataFrame) -> None:
    rows = [r.replace(";", ",").replace("2,75", "2.75").replace("46,45", "46.45") for r in ROWS[:3]]
    path = tmp_path / "c.csv"
    path.write_text("\n".join([HEADER.replace(";", ","), *rows]) + "\n", encoding="cp1252")
    result = read_contacts(path, communes=communes, secret=SECRET)
    assert result.report.accepted == 3
    assert "contact répété" in set(result.rows["statut"])


def test_ragged_lines_are_reported_not_dropped(tmp_path: Path, communes: gpd.GeoDataFrame) -> None:
    path = write(tmp_path / "c.csv", [*ROWS[:3], "07/02/2026 15:00;2,75;46,45;a;b;c;d;e;f;g;h;i"])
    r = read_contacts(path, communes=communes, secret=SECRET).report
    assert r.read == 4 and r.refused == 1 and "nombre de champs" in r.refusals[0].reason


def test_address_only_rows_wait_for_geocoding(tmp_path: Path, communes: gpd.GeoDataFrame) -> None:
    path = tmp_path / "c.csv"
    path.write_text(
        "date;adresse;statut\n03/02/2026 14:00;1 rue de la Paix 00001 Fictive;premier contact\n",
        encoding="utf-8",
    )
    r = read_contacts(path, communes=communes, secret=SECRET)
    assert (r.report.read, r.report.pending, r.report.accepted) == (1, 1, 0)


def test_wrong_kind_of_file(tmp_path: Path, communes: gpd.GeoDataFrame) -> None:
    path = tmp_path / "c.csv"
    path.write_text("nom;prenom\nDupont;Jean\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="colonnes attendues date"):
        read_contacts(path, communes=communes, secret=SECRET)


def test_reimport_does_not_double_and_workspace_holds_nothing_precise(
    tmp_path: Path, communes: gpd.GeoDataFrame
) -> None:
    settings = Settings(secret_path=tmp_path / "secret" / "key")
    ws = Workspace.create(tmp_path / "w.gpkg", name="Essai")
    ws.write_layer("communes", communes, source="test", vintage="")
    source = write(tmp_path / "c.csv", ROWS)
    first = import_file(ws, "contacts", source, settings=settings)
    again = import_file(ws, "contacts", source, settings=settings)
    assert ws.layers()["contacts"].count == first.accepted == again.accepted == 5
    assert any("déjà présents" in n for n in again.notes)
    assert not (tmp_path / "w.gpkg").read_bytes().count(settings.secret_path.read_bytes())
    scan_for_personal_data(ws.path)


def scan_for_personal_data(path: Path) -> None:
    """No coordinate finer than a cell, no address, no name, no raw key, no free text."""
    with sqlite3.connect(path) as con:
        columns = con.execute("SELECT name FROM pragma_table_info('contacts')").fetchall()
        text = " ".join(str(v) for row in con.execute("SELECT * FROM contacts") for v in row)
    names = {c[0] for c in columns}
    assert not names & {"longitude", "latitude", "x", "y", "adresse", "commentaire", "id_personne"}
    assert not re.search(r"\b\d{1,2}\.\d{3,}\b", text), "a decimal coordinate is stored"
    assert not re.search(r"\bP\d{4}\b", text), "a raw person key is stored"
    assert "stade" not in text and "rue" not in text
