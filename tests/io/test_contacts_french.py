"""Contact files as French teams export them: hours, headers, ages, UTF-16, ragged lines."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from samples import ROWS, write

from territory.io.contacts import HOUR_UNKNOWN, preview_contacts, read_contacts

SECRET = b"0" * 32
PLACE = "2,7512;46,4512"


@pytest.fixture
def communes() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": ["00001", "00002"]},
        geometry=[shapely.box(2.70, 46.40, 2.76, 46.50), shapely.box(2.76, 46.40, 2.80, 46.50)],
        crs=4326,
    )


def _file(path: Path, header: str, rows: list[str], encoding: str = "utf-8-sig") -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding=encoding)
    return path


@pytest.mark.parametrize(
    ("spelling", "hour"),
    [("17h00", 17), ("17h", 17), ("17 h 30", 17), ("9h", 9), ("09:30", 9), ("9h05", 9)],
)
def test_hours_in_their_own_column(
    tmp_path: Path, communes: gpd.GeoDataFrame, spelling: str, hour: int
) -> None:
    path = _file(tmp_path / "c.csv", "date;heure;lon;lat", [f"12/03/2026;{spelling};{PLACE}"])
    result = read_contacts(path, communes=communes, secret=SECRET)
    assert result.report.accepted == 1
    assert result.rows["hour"].tolist() == [hour]


@pytest.mark.parametrize("spelling", ["17h00", "17h", "17 h 30", "17:00", "17H05"])
def test_hours_after_the_date(tmp_path: Path, communes: gpd.GeoDataFrame, spelling: str) -> None:
    path = _file(tmp_path / "c.csv", "date;lon;lat", [f"12/03/2026 {spelling};{PLACE}"])
    rows = read_contacts(path, communes=communes, secret=SECRET).rows
    assert rows["hour"].tolist() == [17] and rows["date"].tolist() == ["2026-03-12"]


def test_a_date_without_hour_is_counted_hour_unknown(
    tmp_path: Path, communes: gpd.GeoDataFrame
) -> None:
    rows = [f"12/03/2026;;{PLACE}", f"2026-03-13;;{PLACE}", f"12/03/2026;10h;{PLACE}"]
    path = _file(tmp_path / "c.csv", "date;heure;lon;lat", rows)
    result = read_contacts(path, communes=communes, secret=SECRET)
    assert result.report.accepted == 3
    assert result.rows["hour"].tolist() == [HOUR_UNKNOWN, HOUR_UNKNOWN, 10] == [-1, -1, 10]
    assert "2 contact(s) sans heure : comptés, hors profils horaires" in result.report.notes


def test_unreadable_dates_and_hours_say_which(tmp_path: Path, communes: gpd.GeoDataFrame) -> None:
    rows = [f"12/03/2026;25h;{PLACE}", f"31/02/2026;10h;{PLACE}", f"demain;;{PLACE}"]
    path = _file(tmp_path / "c.csv", "date;heure;lon;lat", rows)
    reasons = [
        r.reason for r in read_contacts(path, communes=communes, secret=SECRET).report.refusals
    ]
    assert reasons == ["heure illisible (date lisible)", "date illisible", "date illisible"]


@pytest.mark.parametrize(
    "header",
    [
        "Date du contact;Heure;N° jeune;Âge;Statut du jeune;Sexe;Longitude;Latitude",
        "DATE CONTACT;heure;Nº jeune;Age;Statut;Genre;lon;lat",
        "Date contact;Heure;No jeune;âge;statut;sexe;Lon;Lat",
        "date_du_contact;HEURE;Numéro jeune;AGE;Statut du jeune;Genre;lon;lat",
        "Date du contact;Heure;Identifiant;Âge;Statut;Sexe;lon;lat",
    ],
)
def test_french_header_spellings(tmp_path: Path, communes: gpd.GeoDataFrame, header: str) -> None:
    path = _file(tmp_path / "c.csv", header, [f"12/03/2026;17h00;J1;21;premier contact;F;{PLACE}"])
    result = read_contacts(path, communes=communes, secret=SECRET)
    assert result.report.accepted == 1
    row = result.rows.iloc[0]
    assert (row["hour"], row["tranche_age"], row["statut"], row["sexe"]) == (
        17,
        "18-21",
        "premier contact",
        "F",
    )
    assert row["personne"] != ""


def test_partner_header_with_apostrophe(tmp_path: Path, communes: gpd.GeoDataFrame) -> None:
    header = "Date du contact;Partenaire d'orientation;lon;lat"
    path = _file(tmp_path / "c.csv", header, [f"12/03/2026 10:00;mission locale;{PLACE}"])
    rows = read_contacts(path, communes=communes, secret=SECRET).rows
    assert rows["partenaire"].tolist() != [""]


def test_a_missing_header_is_named(tmp_path: Path, communes: gpd.GeoDataFrame) -> None:
    path = _file(tmp_path / "c.csv", "Quand;lon;lat", [f"12/03/2026;{PLACE}"])
    with pytest.raises(Exception, match="colonnes attendues date"):
        read_contacts(path, communes=communes, secret=SECRET)


def test_exact_ages_become_bands_and_are_counted(
    tmp_path: Path, communes: gpd.GeoDataFrame
) -> None:
    ages = ["16", "17", "21", "22 ans", "29", "30", "12", "18-21", ""]
    rows = [f"12/03/2026 10:00;{age};{PLACE}" for age in ages]
    result = read_contacts(
        _file(tmp_path / "c.csv", "date;age;lon;lat", rows), communes=communes, secret=SECRET
    )
    assert result.rows["tranche_age"].tolist() == [
        "16-17",
        "16-17",
        "18-21",
        "22-25",
        "26-29",
        "non renseigné",
        "non renseigné",
        "18-21",
        "non renseigné",
    ]
    fixes = result.report.fixes
    assert "5 âge(s) converti(s) en tranches d'âge" in fixes
    assert "2 âge(s) hors 16-29 ans → « non renseigné »" in fixes


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-8", "utf-8-sig", "cp1252"])
def test_excel_unicode_text_and_other_encodings(
    tmp_path: Path, communes: gpd.GeoDataFrame, encoding: str
) -> None:
    header = "Date du contact\tHeure\tN° jeune\tÂge\tStatut\tlon\tlat"
    rows = [f"12/03/2026\t17h00\tJé{i}\t21\tpremier contact\t2,7512\t46,4512" for i in range(3)]
    path = _file(tmp_path / "c.txt", header, rows, encoding=encoding)
    result = read_contacts(path, communes=communes, secret=SECRET)
    assert result.report.accepted == 3
    assert result.rows["hour"].tolist() == [17, 17, 17]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("07/02/2026 15:00;2,75;46,45;a;b;c;d;e;f;g;h;i", "ligne de 12 champs au lieu de 9"),
        ("07/02/2026 15:00;2,75;46,45", "ligne de 3 champs au lieu de 9"),
    ],
)
def test_a_ragged_line_harms_only_itself(
    tmp_path: Path, communes: gpd.GeoDataFrame, line: str, reason: str
) -> None:
    path = write(tmp_path / "c.csv", [ROWS[0], line, ROWS[1], ROWS[2]])
    result = read_contacts(path, communes=communes, secret=SECRET)
    r = result.report
    assert (r.read, r.accepted, r.refused) == (4, 3, 1)
    assert [(x.row, x.reason) for x in r.refusals] == [(3, reason)]
    assert result.refused_rows.iloc[0, -1] == reason


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_a_french_excel_export(tmp_path: Path, communes: gpd.GeoDataFrame, encoding: str) -> None:
    sep = "\t" if encoding == "utf-16" else ";"
    header = sep.join(["Date du contact", "Heure", "N° jeune", "Âge", "Statut", "Lon", "Lat"])
    good = [
        ["12/03/2026", "17h00", "J1", "21", "premier contact", "2,7512", "46,4512"],
        ["12/03/2026", "", "J2", "17", "suivi", "2,7513", "46,4513"],  # no hour
        ["13/03/2026", "9h", "J3", "25", "suivi", "2,7514", "46,4514"],
        ["14/03/2026", "17 h 30", "J4", "35", "suivi", "2,7515", "46,4515"],  # age outside
    ]
    after = [
        ["15/03/2026", "10:30", "J5", "18", "suivi", "2,7516", "46,4516"],
        ["16/03/2026", "18h", "J6", "29", "premier contact", "2,7517", "46,4517"],
    ]
    ragged = sep.join(["14/03/2026", "18h", "J9", "22", "suivi", "2,75", "46,45", "trop", "long"])
    lines = [sep.join(r) for r in good] + [ragged] + [sep.join(r) for r in after]
    path = _file(tmp_path / "export.csv", header, lines, encoding=encoding)
    result = read_contacts(path, communes=communes, secret=SECRET)
    r = result.report
    assert r.read == 7 == r.accepted + r.refused + r.pending
    assert (r.accepted, r.refused, r.pending) == (6, 1, 0)
    assert [(x.row, x.reason) for x in r.refusals] == [(6, "ligne de 9 champs au lieu de 7")]
    assert result.rows["hour"].tolist() == [17, -1, 9, 17, 10, 18]
    assert result.rows["tranche_age"].tolist() == [
        "18-21",
        "16-17",
        "22-25",
        "non renseigné",
        "18-21",
        "26-29",
    ]
    assert "5 âge(s) converti(s) en tranches d'âge" in r.fixes
    assert "1 âge(s) hors 16-29 ans → « non renseigné »" in r.fixes
    assert "1 contact(s) sans heure : comptés, hors profils horaires" in r.notes
    assert len(set(result.rows["personne"])) == 6


@pytest.mark.parametrize(
    ("encoding", "sep"), [("cp1252", ";"), ("utf-8-sig", ","), ("utf-16", "\t")]
)
def test_title_lines_above_the_header_are_skipped_and_lines_keep_their_number(
    tmp_path: Path, communes: gpd.GeoDataFrame, encoding: str, sep: str
) -> None:
    titles = ["Extraction du SI « Mission locale » du 01/04/2026", ""]
    rows = [
        sep.join(["12/03/2026", "17h00", "2.7512", "46.4512"]),
        sep.join(["31/02/2026", "10h", "2.7512", "46.4512"]),  # impossible date: line 5
        sep.join(['"13/03/2026', "9h", "2.7512", "46.4512"]),  # unclosed quote: line 6
        sep.join(["14/03/2026", "", "2.7512", "46.4512"]),
    ]
    header = sep.join(["Date du contact", "Heure", "Longitude", "Latitude"])
    path = tmp_path / "export.csv"
    path.write_text("\n".join([*titles, header, *rows]) + "\n", encoding=encoding)
    result = read_contacts(path, communes=communes, secret=SECRET)
    report = result.report
    assert (report.read, report.accepted, report.refused) == (4, 2, 2)
    assert {r.row for r in report.refusals} == {5, 6}
    assert "en-tête à la ligne 3 : 2 ligne(s) de titre ignorée(s)" in report.notes
    assert result.rows["hour"].tolist() == [17, HOUR_UNKNOWN]
    preview = preview_contacts(path)
    assert list(preview.rows.columns) == ["Date du contact", "Heure", "Longitude", "Latitude"]


def test_excel_date_cells_without_a_time_are_hour_unknown_not_midnight(
    tmp_path: Path, communes: gpd.GeoDataFrame
) -> None:
    # what a workbook's date cells become as text: every time at midnight
    days = [f"2026-03-1{i} 00:00:00;{PLACE}" for i in range(2, 5)]
    result = read_contacts(_file(tmp_path / "d.csv", "date;lon;lat", days), communes=communes,
                           secret=SECRET)  # fmt: skip
    assert result.rows["hour"].tolist() == [HOUR_UNKNOWN] * 3
    assert result.rows["date"].tolist() == ["2026-03-12", "2026-03-13", "2026-03-14"]
    # a real contact at midnight among other hours stays at 0 h
    mixed = [f"2026-03-12 00:00:00;{PLACE}", f"2026-03-12 17:30:00;{PLACE}"]
    rows = read_contacts(_file(tmp_path / "m.csv", "date;lon;lat", mixed), communes=communes,
                         secret=SECRET).rows  # fmt: skip
    assert rows["hour"].tolist() == [0, 17]
