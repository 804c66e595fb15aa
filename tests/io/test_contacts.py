"""Contact logs: French conventions, exact accounting, anonymisation at the door."""

from __future__ import annotations

import functools
import re
import sqlite3
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from samples import HEADER, ROWS, spanning_years, write, xlsx

from territory import InputFileError, Settings, ValidationError
from territory.ingest import import_file
from territory.io import _dates, contacts
from territory.io.contacts import read_contacts
from territory.privacy import pseudonyms
from territory.privacy.protect import MAX_NOISE
from territory.privacy.raw import contact_cell_counts, purge, retention_cutoff
from territory.store import Workspace
from territory.views import density_layer, summary

SECRET = b"0" * 32


@pytest.fixture
def communes() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": ["00001", "00002"]},
        geometry=[shapely.box(2.70, 46.40, 2.76, 46.50), shapely.box(2.76, 46.40, 2.80, 46.50)],
        crs=4326,
    )


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
    assert (
        r.read == 4 and r.refused == 1 and r.refusals[0].reason == "ligne de 12 champs au lieu de 9"
    )


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


@pytest.mark.file_only
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


def contact_workspace(tmp_path: Path, communes: gpd.GeoDataFrame) -> Workspace:
    ws = Workspace.create(tmp_path / "w.gpkg", name="Essai")
    ws.write_layer("communes", communes.assign(population=1000), source="test", vintage="")
    return ws


def _near(label: str, true: int) -> bool:
    """A published count: a multiple of 5, within the perturbation and rounding of ``true``."""
    value = int(label.replace("\u202f", ""))
    return value % 5 == 0 and abs(value - true) <= MAX_NOISE + 2


def test_purge_deletes_contacts_older_than_the_retention(
    tmp_path: Path, communes: gpd.GeoDataFrame
) -> None:
    # imported while the programme kept contacts five years, purged after it chose two
    settings = Settings(secret_path=tmp_path / "secret" / "key", retention_months=60)
    ws = contact_workspace(tmp_path, communes)
    report = import_file(ws, "contacts", spanning_years(tmp_path / "c.csv"), settings=settings)
    assert report.accepted == ws.layers()["contacts"].count == 65
    assert _near(summary(ws, settings=settings)["contacts"], 65)
    before = density_layer(ws, settings=settings)["count"].sum()

    assert purge(ws, older_than_months=24, today=date(2026, 3, 15)) == 30
    assert ws.layers()["contacts"].count == 35
    assert ws.read_table("contacts")["date"].min() >= "2024-03-15"
    assert _near(summary(ws, settings=settings)["contacts"], 35)
    assert density_layer(ws, settings=settings)["count"].sum() < before
    # nothing left to purge; a shorter retention takes the 2025 contacts too
    assert purge(ws, older_than_months=24, today=date(2026, 3, 15)) == 0
    assert purge(ws, older_than_months=6, today=date(2026, 3, 15)) == 30
    assert ws.layers()["contacts"].count == 5


def test_contacts_in_the_future_or_beyond_retention_are_refused(
    tmp_path: Path, communes: gpd.GeoDataFrame
) -> None:
    settings = Settings(secret_path=tmp_path / "secret" / "key")  # 24 months
    ws = contact_workspace(tmp_path, communes)
    row = "{} 10:00;2,7512;46,4512;suivi;18-21;F;;P{};"
    days = ("16/03/2026", "15/03/2026", "15/03/2024", "14/03/2024", "01/01/2027")
    source = write(tmp_path / "c.csv", [row.format(d, i) for i, d in enumerate(days)])
    report = import_file(ws, "contacts", source, settings=settings, today=date(2026, 3, 15))
    assert report.accepted == 2 and report.refused == 3
    reasons = sorted(r.reason for r in report.refusals)
    assert reasons[0].startswith("date avant le 15/03/2024 : au-delà de la durée de conservation")
    assert reasons[1:] == ["date future (après le 15/03/2026, jour de l'import)"] * 2
    assert sorted(ws.read_table("contacts")["date"]) == ["2024-03-15", "2026-03-15"]


def test_free_text_is_never_stored_nor_echoed(
    tmp_path: Path, communes: gpd.GeoDataFrame, backend: str
) -> None:
    settings = Settings(secret_path=tmp_path / "secret" / "key")
    ws = contact_workspace(tmp_path, communes)
    row = "03/02/2026 14:35;2,7512;46,4512;{};18-21;F;{};P{};"
    given = [
        ("suivi", "Mission Locale", 1),
        ("suivi", "pôle emploi", 2),
        ("suivi", "Mme Durand 06 12 34 56 78", 3),
        ("vu chez sa tante, enceinte", "", 4),
    ]
    source = write(tmp_path / "c.csv", [row.format(s, p, i) for s, p, i in given])
    report = import_file(ws, "contacts", source, settings=settings, today=date(2026, 3, 1))
    assert report.accepted == 4
    stored = ws.read_table("contacts")
    assert sorted(stored["partenaire"]) == [
        "",
        "Autre partenaire",
        "France Travail",
        "Mission locale",
    ]
    assert set(stored["statut"]) == {"contact répété", "non renseigné"}
    text = " ".join([*report.fixes, *report.notes])
    assert "Durand" not in text and "06 12" not in text and "tante" not in text
    assert "1 partenaire(s) d'orientation hors des types de partenaires" in text
    if backend == "file":  # on the server, ws.path names the schema, not a file
        assert b"Durand" not in ws.path.read_bytes() and b"tante" not in ws.path.read_bytes()


def test_dates_said_about_the_contacts_are_months_of_k_people(
    tmp_path: Path, communes: gpd.GeoDataFrame
) -> None:
    from territory.privacy.published import latest_month, published_months, quarters
    from territory.views import breakdown_choices

    settings = Settings(secret_path=tmp_path / "secret" / "key")  # k = 11
    ws = contact_workspace(tmp_path, communes)
    row = "{} 10:00;2,7512;46,4512;suivi;18-21;F;;{};"
    march = [row.format(f"{1 + i % 28:02d}/03/2026", f"M{i}") for i in range(12)]
    april = [row.format(f"{1 + i:02d}/04/2026", "A0") for i in range(20)]  # one person
    may = [row.format("05/05/2026", f"Z{i}") for i in range(3)]  # three people, one day
    source = write(tmp_path / "c.csv", [*march, *april, *may])
    import_file(ws, "contacts", source, settings=settings, today=date(2026, 6, 1))
    assert ws.layers()["contacts"].vintage == "2026-03 → 2026-03"
    assert published_months(ws, settings=settings) == ["2026-03"]
    assert latest_month(ws, settings=settings) == date(2026, 3, 1)
    assert quarters(ws, settings=settings) == ["2026-T1"]
    assert breakdown_choices(ws, settings=settings)["periode"] == ["2026-T1"]
    assert "05/05" not in str(ws.layers()["contacts"]) and "2026-05" not in str(ws.layers())
    # eight more people in May: the month is published at once (nothing kept from before)
    more = write(tmp_path / "d.csv", [row.format("06/05/2026", f"Y{i}") for i in range(8)])
    import_file(ws, "contacts", more, settings=settings, today=date(2026, 6, 1))
    assert published_months(ws, settings=settings) == ["2026-03", "2026-05"]
    assert latest_month(ws, settings=settings) == date(2026, 5, 1)


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


def assert_counts_kept(ws: Workspace) -> None:
    """The counts per (cell, commune) kept by the store equal a scan of every contact."""
    scan = ws.query(
        "SELECT cell, commune, count(*) AS n FROM contacts "
        "GROUP BY cell, commune ORDER BY cell, commune"
    )
    kept = ws.query("SELECT cell, commune, n FROM territory_counts_contacts ORDER BY cell, commune")
    pd.testing.assert_frame_equal(kept, scan)
    pd.testing.assert_frame_equal(contact_cell_counts(ws), scan)


def test_counts_per_cell_stay_exact_through_every_write(
    tmp_path: Path, communes: gpd.GeoDataFrame
) -> None:
    from datetime import datetime

    from territory.rounds.feedback import record_feedback

    # a programme that keeps contacts five years (the file spans 2022-2026)
    settings = Settings(secret_path=tmp_path / "secret" / "key", retention_months=60)
    ws = contact_workspace(tmp_path, communes)
    source = spanning_years(tmp_path / "c.csv")
    import_file(ws, "contacts", source, settings=settings)
    assert_counts_kept(ws)
    assert contact_cell_counts(ws)["n"].sum() == 65
    # imported again: nothing added; a second file: only its new rows are counted
    import_file(ws, "contacts", source, settings=settings)
    second = write(tmp_path / "d.csv", [ROWS[0], ROWS[0].replace("P0001", "Z0001")])
    assert import_file(ws, "contacts", second, settings=settings).accepted == 2
    assert_counts_kept(ws)
    assert contact_cell_counts(ws)["n"].sum() == 66
    # feedback of a visit, recorded then replaced
    visit = pd.Series(
        {"start": datetime(2026, 2, 5, 10), "team": "Équipe A", "place": "p1",
         "place_name": "Parc", "lon": 2.7512, "lat": 46.4512}
    )  # fmt: skip
    record_feedback(ws, "2026-W06", visit, {"hors radars": 3}, settings=settings)
    assert_counts_kept(ws)
    record_feedback(ws, "2026-W06", visit, {"premier contact": 1}, settings=settings)
    assert_counts_kept(ws)
    assert contact_cell_counts(ws)["n"].sum() == 67
    # the retention purge
    assert purge(ws, older_than_months=24, today=date(2026, 3, 15)) == 30
    assert_counts_kept(ws)
    assert contact_cell_counts(ws)["n"].sum() == 37
    # the table written again as a whole (as when communes get their current code)
    rows = ws.read_table("contacts")
    rows.loc[rows["commune"] == "00001", "commune"] = "00003"
    ws.write_table("contacts", rows, source="test", vintage="")
    assert_counts_kept(ws)
    assert set(contact_cell_counts(ws)["commune"]) == {"00003"}


# ------------------------------------------------------------------ refused and pending rows
def read_side_file(path: Path) -> pd.DataFrame:
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for spreadsheets
    return pd.read_csv(path, sep=";", dtype=str, keep_default_na=False, encoding="utf-8-sig")


@pytest.mark.file_only
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


def test_ragged_lines_are_in_the_refused_rows_repeated_ones_are_kept(
    tmp_path: Path, communes: gpd.GeoDataFrame
) -> None:
    ragged = "07/02/2026 15:00;2,75;46,45;a;b;c;d;e;f;g;h;i"
    path = write(tmp_path / "c.csv", [ROWS[0], ROWS[1], ragged, ROWS[1]])
    result = read_contacts(path, communes=communes, secret=SECRET, chunksize=2)
    r = result.report
    assert (r.read, r.accepted, r.refused) == (4, 3, 1)
    refused = result.refused_rows
    assert refused.columns[-1] == "motif_refus" and len(refused) == 1
    assert refused.iloc[0, 0] == ragged and refused.iloc[0, -1] == "ligne de 12 champs au lieu de 9"
    assert [x.reason for x in r.refusals] == refused["motif_refus"].tolist()
    assert any("1 ligne(s) identique(s)" in n for n in r.notes)  # a second contact, kept
    assert result.rows["fingerprint"].is_unique


def test_rows_to_geocode_are_kept_beside_the_file(
    tmp_path: Path, communes: gpd.GeoDataFrame, backend: str
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
    if backend == "file":  # on the server, ws.path names the schema, not a file
        assert b"rue de la Paix" not in ws.path.read_bytes()


# ------------------------------------------------------------------ fast paths, same answers
def test_arrow_reading_gives_what_pandas_gives(
    tmp_path: Path, communes: gpd.GeoDataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [
        *ROWS,
        ROWS[0].replace("P0001", "P0009"),
        "2026-02-04 17:05;2.752;46.452;suivi;;;;;",
        '05/02/2026 09:00;2,7514;46,4514;suivi;;;;P0010;"sur deux\nlignes"',
        '31/02/2026 09:00;2,7514;46,4514;suivi;;;;P0011;"sur deux\nlignes"',
    ]
    path = write(tmp_path / "c.csv", rows)
    fast = read_contacts(path, communes=communes, secret=SECRET, chunksize=3)
    monkeypatch.setattr(contacts, "_READERS", ("c", "python"))
    slow = read_contacts(path, communes=communes, secret=SECRET, chunksize=3)
    assert fast.report.to_dict() == slow.report.to_dict()
    pd.testing.assert_frame_equal(fast.rows, slow.rows)
    pd.testing.assert_frame_equal(fast.refused_rows, slow.refused_rows)


def test_arrow_reader_hands_over_to_pandas(tmp_path: Path) -> None:
    def arrow_reads(text: str, encoding: str = "utf-8") -> bool:
        path = tmp_path / "c.csv"
        path.write_bytes(text.encode(encoding))
        try:
            list(
                contacts._arrow_chunks(
                    path, "utf-8-sig" if encoding == "utf-8" else encoding, ";", 10
                )
            )
        except contacts._RetryError:
            return False
        return True

    assert arrow_reads("date;lon\n01/02/2026 10:00;2,7\n")
    assert arrow_reads("date;lon\n01/02/2026 10:00;2,7\n", "cp1252")
    assert not arrow_reads("date;lon\n01/02/2026 10:00;2,7;trop\n")  # ragged
    assert not arrow_reads("date;lon\n01/02/2026 10:00\n")  # too few fields
    assert not arrow_reads("date;date\n01/02/2026 10:00;x\n")  # pandas renames it date.1
    assert not arrow_reads("date;\n01/02/2026 10:00;x\n")  # pandas names it Unnamed: 1


def test_dates_parsed_without_strptime_as_strptime_does() -> None:
    text = pd.Series(
        [
            "03/02/2026 14:35",
            "29/02/2024 23:59",  # leap day
            "29/02/2025 10:00",  # no such day
            "31/04/2026 10:00",
            "01/13/2026 10:00",
            "00/01/2026 10:00",
            "01/02/2026 24:00",
            "01/02/2026 10:60",
            "1/2/2026 9:05",  # not zero-padded: strptime reads it
            "03/02/2026 14:35:59",
            "03/02/2026 14:35:60",
            "2026-02-04 17:05",
            "2026-02-04T17:05",
            "2026-02-04T17:05:07",
            "2026-02-04 17:05:07",
            "1899-12-31 10:00",
            "2026-02-30 10:00",
            "03-02-2026 14:35",
            "",
            "demain",
            "０3/02/2026 14:35",  # a full-width digit
        ],
        dtype=str,
    )
    chunk = pd.DataFrame({"date": text})
    fast, known, _ = _dates.parse_dates(chunk, {"date": "date"})
    expected = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    for fmt in _dates._DATE_FORMATS:
        missing = expected.isna()
        expected[missing] = pd.to_datetime(text[missing], format=fmt, errors="coerce")
    # a French spelling strptime does not read: day-month-year with hyphens
    expected[text == "03-02-2026 14:35"] = pd.Timestamp("2026-02-03 14:35")
    np.testing.assert_array_equal(fast, expected.to_numpy())
    assert np.isnat(fast).sum() == 10 and known.all()


def test_numbers_parsed_as_pandas_does() -> None:
    values = pd.Series(
        ["2.75", "-0.5", "46", "1e3", "+2.5", "2.", ".5", "abc", "", "2.7.1", "nan", "１２"],
        dtype=str,
    )
    expected = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    np.testing.assert_array_equal(contacts._to_float(values), expected)


def test_communes_per_cell_equal_communes_per_point() -> None:
    # A jagged commune beside a square one, a hole, and points on, near and off borders.
    angle = np.linspace(0, 2 * np.pi, 41)[:-1]
    reach = 1 + np.arange(40) % 2
    star = shapely.Polygon(
        np.c_[2.70 + 0.03 * np.cos(angle) * reach, 46.45 + 0.02 * np.sin(angle) * reach]
    )
    square = shapely.box(2.76, 46.40, 2.80, 46.50).difference(shapely.box(2.77, 46.44, 2.78, 46.46))
    bowtie = shapely.Polygon(
        [(2.82, 46.40), (2.86, 46.50), (2.86, 46.40), (2.82, 46.50)]
    )  # invalid
    gdf = gpd.GeoDataFrame({"code": ["A", "B", "C"]}, geometry=[star, square, bowtie], crs=4326)
    rng = np.random.default_rng(4)
    lon = np.r_[
        rng.uniform(2.62, 2.88, 20_000), [2.76, 2.76, 2.77, 2.84], 2.76 + 1e-9 * np.arange(-3, 4)
    ]
    lat = np.r_[rng.uniform(46.38, 46.52, 20_000), [46.45, 46.40, 46.45, 46.45], np.full(7, 46.47)]
    context = contacts._Context.build(gdf, SECRET)
    _, by_cell = context.place(lon, lat)
    hit_point, hit_poly = shapely.STRtree(gdf.geometry.to_numpy()).query(
        shapely.points(lon, lat), predicate="intersects"
    )
    per_point = np.full(len(lon), -1)
    per_point[hit_point[::-1]] = hit_poly[::-1]
    np.testing.assert_array_equal(by_cell, per_point)
    classes = context.cell_class
    assert (classes >= 0).any() and (classes == -1).any() and (classes == -2).any()
    assert {0, 1, 2} <= set(by_cell)


def test_person_pseudonyms_are_keyed_hashes_of_the_stripped_key(
    tmp_path: Path, communes: gpd.GeoDataFrame
) -> None:
    keys = pd.Series(["P1", " P2", "P1", "", "P2 ", "é" * 80, "x" * 1000], dtype=str)
    first = pseudonyms.person_pseudonyms(keys, SECRET)
    assert first[0] == first[2] and first[1] == first[4] and first[3] == ""
    named = first[[0, 1, 5, 6]]
    assert len(set(named)) == 4
    assert all(re.fullmatch(r"[0-9a-f]{16}", t) for t in named)
    # keyed: another secret gives other pseudonyms
    assert not set(named) & set(pseudonyms.person_pseudonyms(keys, b"1" * 32))
    # stable: a person imported now and again in a later version keeps one pseudonym
    pinned = pseudonyms.person_pseudonyms(pd.Series(["P1", "ééé"], dtype=str), SECRET)
    assert list(pinned) == ["5430782c3c2a4b0d", "d301ff1965a7ab37"]
    # and a key of its own: not the fingerprint of a row holding only the person key
    row = pseudonyms.row_fingerprints(pd.DataFrame({"id": ["P1"]}, dtype=str), SECRET)
    assert pseudonyms.fingerprint_text(row)[0] != first[0]
    # hashed per chunk: the same person gets the same pseudonym in every chunk
    path = write(tmp_path / "c.csv", [ROWS[0], ROWS[1], ROWS[2], ROWS[0].replace("14:35", "16:35")])
    result = read_contacts(path, communes=communes, secret=SECRET, chunksize=1)
    assert result.rows["personne"].tolist() == [
        *pseudonyms.person_pseudonyms(pd.Series(["P0001", "P0002", "P0001", "P0001"]), SECRET)
    ]


def test_repeated_row_in_a_later_chunk_is_numbered_not_refused(
    tmp_path: Path, communes: gpd.GeoDataFrame
) -> None:
    path = write(tmp_path / "c.csv", [ROWS[0], ROWS[1], ROWS[2], ROWS[0]])
    result = read_contacts(path, communes=communes, secret=SECRET, chunksize=2)
    assert (result.report.accepted, result.report.refused) == (4, 0)
    assert result.rows["fingerprint"].is_unique
    # the same rows in one chunk: the same fingerprints (the numbering goes on across chunks)
    whole = read_contacts(path, communes=communes, secret=SECRET)
    assert whole.rows["fingerprint"].tolist() == result.rows["fingerprint"].tolist()


@pytest.mark.file_only
def test_import_streams_into_a_valid_geopackage_table(
    tmp_path: Path, communes: gpd.GeoDataFrame
) -> None:
    import pyogrio

    settings = Settings(secret_path=tmp_path / "secret" / "key")
    ws = contact_workspace(tmp_path, communes)
    more = [r.replace("P0001", f"Q{i:04d}") for i in range(50) for r in ROWS[:1]]
    report = import_file(
        ws, "contacts", write(tmp_path / "c.csv", [*ROWS, *more]), settings=settings
    )
    assert report.accepted == ws.layers()["contacts"].count == 55
    assert ws.layers()["contacts"].vintage == "2026-02 → 2026-02"  # months, 54 people
    assert pyogrio.read_info(ws.path, layer="contacts")["features"] == 55
    with sqlite3.connect(ws.path) as con:
        triggers = {
            r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='trigger'")
        }
        assert "trigger_insert_feature_count_contacts" in triggers
        (hour_type,) = con.execute(
            "SELECT type FROM pragma_table_info('contacts') WHERE name = 'hour'"
        ).fetchone()
    assert hour_type.upper().startswith("INT")
    # a second file appends, the feature count follows, the first rows are not doubled
    second = write(tmp_path / "d.csv", [ROWS[0], ROWS[0].replace("P0001", "Z0001")])
    again = import_file(ws, "contacts", second, settings=settings)
    assert any("1 contact(s) déjà présents" in n for n in again.notes)
    assert ws.layers()["contacts"].count == 56
    assert pyogrio.read_info(ws.path, layer="contacts")["features"] == 56
    scan_for_personal_data(ws.path)


@pytest.mark.file_only
def test_failed_import_stores_nothing(
    tmp_path: Path, communes: gpd.GeoDataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(secret_path=tmp_path / "secret" / "key")
    ws = contact_workspace(tmp_path, communes)
    import_file(ws, "contacts", write(tmp_path / "c.csv", ROWS[:2]), settings=settings)
    original = contacts._anonymise_chunk
    calls = []

    def failing(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("panne au milieu du fichier")
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(contacts, "_anonymise_chunk", failing)
    # small chunks: the failure comes after a first chunk was appended
    monkeypatch.setattr(
        contacts, "read_contacts", functools.partial(contacts.read_contacts, chunksize=2)
    )
    with pytest.raises(RuntimeError, match="panne"):
        import_file(ws, "contacts", write(tmp_path / "e.csv", ROWS[2:]), settings=settings)
    assert ws.layers()["contacts"].count == 2 == len(ws.read_table("contacts"))
    with sqlite3.connect(ws.path) as con:
        assert con.execute(
            "SELECT feature_count FROM gpkg_ogr_contents WHERE table_name = 'contacts'"
        ).fetchone() == (2,)
        trigger = "trigger_insert_feature_count_contacts"
        assert con.execute(
            "SELECT count(*) FROM sqlite_master WHERE name = ?", (trigger,)
        ).fetchone() == (1,)
    assert_counts_kept(ws)


def test_ragged_file_read_again_stores_each_row_once(
    tmp_path: Path, communes: gpd.GeoDataFrame
) -> None:
    settings = Settings(secret_path=tmp_path / "secret" / "key")
    ws = contact_workspace(tmp_path, communes)
    ragged = "07/02/2026 15:00;2,75;46,45;a;b;c;d;e;f;g;h;i"
    report = import_file(
        ws, "contacts", write(tmp_path / "c.csv", [*ROWS[:3], ragged]), settings=settings
    )
    assert (report.read, report.accepted, report.refused) == (4, 3, 1)
    assert ws.layers()["contacts"].count == 3
    assert not any("déjà présents" in n for n in report.notes)
    assert_counts_kept(ws)  # the rows of the first reading were forgotten, counts too


def test_spreadsheet_export_gives_the_rows_of_its_csv(
    tmp_path: Path, communes: gpd.GeoDataFrame
) -> None:

    table = [HEADER.split(";"), *(row.split(";") for row in ROWS)]
    path = tmp_path / "c.xlsx"
    path.write_bytes(xlsx({"Contacts": table}))
    sheet = read_contacts(path, communes=communes, secret=SECRET)
    text = read_contacts(write(tmp_path / "c.csv", ROWS), communes=communes, secret=SECRET)
    assert sheet.report.notes[0] == "feuille « Contacts » lue"  # the report names the sheet
    sheet.report.notes.pop(0)
    assert sheet.report.to_dict() | {"source": ""} == text.report.to_dict() | {"source": ""}
    pd.testing.assert_frame_equal(sheet.rows, text.rows)


def test_lambert_93_and_an_explicit_mapping(tmp_path: Path, communes: gpd.GeoDataFrame) -> None:
    from pyproj import Transformer

    x, y = Transformer.from_crs(4326, 2154, always_xy=True).transform(2.75, 46.45)
    path = tmp_path / "c.csv"
    path.write_text(
        f"quand;X;Y;situation\n03/02/2026 14:35;{x:.1f};{y:.1f};premier\n".replace(".", ","),
        encoding="utf-8",
    )
    mapping = {"date": "quand", "x": "X", "y": "Y"}
    rows = read_contacts(path, communes=communes, secret=SECRET, mapping=mapping).rows
    points = read_contacts(
        write(tmp_path / "p.csv", ["03/02/2026 14:35;2,75;46,45;premier;;;;;"]),
        communes=communes,
        secret=SECRET,
    ).rows
    assert rows[["cell", "commune", "date", "hour", "statut"]].equals(
        points[["cell", "commune", "date", "hour", "statut"]]
    )
    assert rows["statut"].tolist() == ["premier contact"]


def test_an_empty_hour_column_keeps_the_time_of_the_date_column(
    tmp_path: Path, communes: gpd.GeoDataFrame
) -> None:
    path = tmp_path / "c.csv"
    path.write_text(
        "date;heure;longitude;latitude\n"
        "2026-02-03 15:30;;2,72;46,45\n"
        "03/02/2026;09:15;2,72;46,45\n",
        encoding="utf-8",
    )
    r = read_contacts(path, communes=communes, secret=SECRET)
    assert (r.report.accepted, r.report.refused) == (2, 0)
    assert sorted(r.rows["hour"]) == [9, 15]
