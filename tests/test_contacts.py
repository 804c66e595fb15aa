"""Contact logs: French conventions, exact accounting, anonymisation at the door."""

from __future__ import annotations

import re
import sqlite3
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from territory import InputFileError, Settings, ValidationError
from territory.contacts import purge, read_contacts, retention_cutoff
from territory.ingest import import_file
from territory.store import Workspace
from territory.views import density_layer, summary

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


# ------------------------------------------------------------------ retention purge
def spanning_years(path: Path) -> Path:
    """ROWS (February 2026) plus 30 contacts of 2022 and 30 of 2025 in one place."""
    old = [
        f"0{1 + i % 9}/03/2022 {8 + i % 12}:00;2,7512;46,4512;suivi;18-21;F;;Q{i:03d};"
        for i in range(30)
    ]
    recent = [
        f"0{1 + i % 9}/06/2025 {8 + i % 12}:00;2,7512;46,4512;suivi;18-21;H;;R{i:03d};"
        for i in range(30)
    ]
    return write(path, [*ROWS, *old, *recent])


def contact_workspace(tmp_path: Path, communes: gpd.GeoDataFrame) -> Workspace:
    ws = Workspace.create(tmp_path / "w.gpkg", name="Essai")
    ws.write_layer("communes", communes.assign(population=1000), source="test", vintage="")
    return ws


def test_purge_deletes_contacts_older_than_the_retention(
    tmp_path: Path, communes: gpd.GeoDataFrame
) -> None:
    settings = Settings(secret_path=tmp_path / "secret" / "key")
    ws = contact_workspace(tmp_path, communes)
    report = import_file(ws, "contacts", spanning_years(tmp_path / "c.csv"), settings=settings)
    assert report.accepted == ws.layers()["contacts"].count == 65
    assert summary(ws, settings=settings)["contacts"] == "65"
    before = density_layer(ws, settings=settings)["count"].sum()

    assert purge(ws, older_than_months=24, today=date(2026, 3, 15)) == 30
    assert ws.layers()["contacts"].count == 35
    assert ws.read_table("contacts")["date"].min() >= "2024-03-15"
    assert summary(ws, settings=settings)["contacts"] == "35"
    assert density_layer(ws, settings=settings)["count"].sum() < before
    # nothing left to purge; a shorter retention takes the 2025 contacts too
    assert purge(ws, older_than_months=24, today=date(2026, 3, 15)) == 0
    assert purge(ws, older_than_months=6, today=date(2026, 3, 15)) == 30
    assert ws.layers()["contacts"].count == 5


def test_retention_cutoff_keeps_the_cutoff_day() -> None:
    assert retention_cutoff(date(2026, 3, 31), 1) == date(2026, 2, 28)
    assert retention_cutoff(date(2026, 1, 15), 24) == date(2024, 1, 15)
    assert retention_cutoff(date(2024, 3, 31), 1) == date(2024, 2, 29)
    with pytest.raises(ValidationError):
        retention_cutoff(date(2026, 1, 1), 0)


def test_purge_without_contacts_is_zero(tmp_path: Path, communes: gpd.GeoDataFrame) -> None:
    assert (
        purge(contact_workspace(tmp_path, communes), older_than_months=24, today=date.today()) == 0
    )


# ------------------------------------------------------------------ refused and pending rows
def read_side_file(path: Path) -> pd.DataFrame:
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for spreadsheets
    return pd.read_csv(path, sep=";", dtype=str, keep_default_na=False, encoding="utf-8-sig")


def test_refused_rows_file_holds_the_original_lines_and_reasons(
    tmp_path: Path, communes: gpd.GeoDataFrame
) -> None:
    settings = Settings(secret_path=tmp_path / "secret" / "key")
    ws = contact_workspace(tmp_path, communes)
    source = write(tmp_path / "c.csv", ROWS)
    report = import_file(ws, "contacts", source, settings=settings)
    refus = tmp_path / "c.refus.csv"
    table = read_side_file(refus)
    assert list(table.columns) == [*HEADER.split(";"), "motif_refus"]
    assert [";".join(r[:-1]) for r in table.to_numpy().tolist()] == [ROWS[3], ROWS[4], ROWS[6]]
    assert table["motif_refus"].tolist() == [r.reason for r in report.refusals]
    assert any(str(refus) in n for n in report.notes)
    assert not (tmp_path / "c.a_geocoder.csv").exists()
    scan_for_personal_data(ws.path)
    assert b"P0003" not in ws.path.read_bytes()  # the refused rows never enter the workspace

    # re-importing neither doubles the contacts nor appends to the file: it is overwritten
    refus.write_text("ancien contenu\n", encoding="utf-8")
    import_file(ws, "contacts", source, settings=settings)
    assert ws.layers()["contacts"].count == 5
    assert read_side_file(refus).equals(table)
    # once the file is corrected, the stale list of refusals goes away
    write(source, [ROWS[0], ROWS[1]])
    import_file(ws, "contacts", source, settings=settings)
    assert not refus.exists()


def test_ragged_and_repeated_lines_are_in_the_refused_rows(
    tmp_path: Path, communes: gpd.GeoDataFrame
) -> None:
    ragged = "07/02/2026 15:00;2,75;46,45;a;b;c;d;e;f;g;h;i"
    path = write(tmp_path / "c.csv", [ROWS[0], ROWS[1], ragged, ROWS[1]])
    result = read_contacts(path, communes=communes, secret=SECRET, chunksize=2)
    r = result.report
    assert (r.read, r.accepted, r.refused) == (4, 2, 2)
    refused = result.refused_rows
    assert refused.columns[-1] == "motif_refus" and len(refused) == 2
    assert refused.iloc[0, 0] == ragged and "nombre de champs" in refused.iloc[0, -1]
    assert ";".join(refused.iloc[1, :-1]) == ROWS[1] and "en double" in refused.iloc[1, -1]
    assert sorted(x.reason for x in r.refusals) == sorted(refused["motif_refus"])


def test_rows_to_geocode_are_kept_beside_the_file(
    tmp_path: Path, communes: gpd.GeoDataFrame
) -> None:
    settings = Settings(secret_path=tmp_path / "secret" / "key")
    ws = contact_workspace(tmp_path, communes)
    path = tmp_path / "adresses.csv"
    line = "03/02/2026 14:00;1 rue de la Paix 00001 Fictive;premier contact"
    path.write_text(f"date;adresse;statut\n{line}\n", encoding="utf-8")
    report = import_file(ws, "contacts", path, settings=settings)
    assert (report.read, report.pending) == (1, 1)
    kept = read_side_file(tmp_path / "adresses.a_geocoder.csv")
    assert [";".join(r) for r in kept.to_numpy().tolist()] == [line]
    assert not (tmp_path / "adresses.refus.csv").exists()
    assert b"rue de la Paix" not in ws.path.read_bytes()
