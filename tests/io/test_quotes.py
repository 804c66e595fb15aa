"""An unclosed quote in a CSV file harms only its own row (issue #19): no row vanishes."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from samples import HEADER

from territory.io._quotes import scan_quotes, unquoted_copy
from territory.io.contacts import read_contacts
from territory.io.partners import read_partners

SECRET = b"0" * 32
ROW = "03/02/2026 14:{:02d};2,751234;46,451234;premier contact;18-21;F;mission locale;P{:04d};ras"


@pytest.fixture
def communes() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": ["00001"]}, geometry=[shapely.box(2.70, 46.40, 2.80, 46.50)], crs=4326
    )


def contact_lines(n: int) -> list[str]:
    return [ROW.format(i % 60, i) for i in range(n)]


@pytest.mark.parametrize(
    ("text", "broken", "rows"),
    [
        # swallows up to the next quote of the file (a well-quoted cell further down)
        ('a;b;c\n1;"x;3\n4;5;6\n7;8;9\n10;"y";12\n', {0: 2}, ["1;x;3", "4;5;6", "7;8;9"]),
        # the file ends inside the quote
        ('a;b;c\n1;2;3\n4;5;6\n7;"8;9\n', {2: 4}, ["1;2;3", "4;5;6", "7;8;9"]),
        # a comment on two lines, well quoted, is not broken; the row after it is
        ('a;b;c\n1;"x\ny";3\n4;"5;6\n7;8;9\n', {1: 4}, ['1;"x\ny";3', "4;5;6", "7;8;9"]),
        # CRLF, a blank line (not a row), the broken row cut to the header's width
        ('a;b;c\r\n1;2;3\r\n\r\n"4;5;6;7;8\r\n9;10;11\r\n', {1: 4}, ["1;2;3", "", '4;5;"6;7;8"']),
        # a well-formed file is left as it is
        ('a;b;c\n1;"x;y";3\n4;"""q""";6\n', {}, ['1;"x;y";3', '4;"""q""";6']),
    ],
)
def test_scan_finds_the_unclosed_quotes(text: str, broken: dict[int, int], rows: list[str]) -> None:
    scan = scan_quotes(text, ";")
    assert scan.lines == broken
    out = scan.text.replace("\r\n", "\n")
    body = out.split("\n", 1)[1]
    for row in rows:
        assert row in body
    assert out.count("\n") == text.replace("\r\n", "\n").count("\n")  # no line lost


def test_the_copy_is_made_only_when_a_quote_is_unclosed(tmp_path: Path) -> None:
    fine = tmp_path / "ok.csv"
    fine.write_text('a;b\n1;"2"\n', encoding="cp1252")
    (tmp_path / "copies").mkdir()
    assert unquoted_copy(fine, "cp1252", ";", tmp_path / "copies")[:2] == (fine, "cp1252")
    broken = tmp_path / "ko.csv"
    broken.write_text('a;b\n1;"é\n3;4\n', encoding="utf-16")
    copy, encoding, scan = unquoted_copy(broken, "utf-16", ";", tmp_path / "copies")
    assert encoding == "utf-8" and scan.lines == {0: 2}
    assert copy.read_text(encoding="utf-8") == "a;b\n1;é\n3;4\n"


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252", "utf-16"])
def test_contacts_lose_no_row_to_an_unclosed_quote(
    tmp_path: Path, communes: gpd.GeoDataFrame, encoding: str
) -> None:
    lines = contact_lines(40)
    lines[5] = lines[5].replace(";mission locale;", ';"Centre social;')
    lines[30] = lines[30].removesuffix(";ras") + ';"vu au "" city stade"'  # the next quote
    path = tmp_path / "c.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding=encoding)
    result = read_contacts(path, communes=communes, secret=SECRET)
    r = result.report
    assert (r.read, r.accepted, r.refused) == (40, 39, 1)
    assert [(x.row, x.reason) for x in r.refusals] == [
        (7, "guillemet non fermé (ligne 7 du fichier)")
    ]
    assert result.refused_rows["partenaire_orientation"].iloc[0] == "Centre social"


def test_contacts_unclosed_quote_on_the_last_line(
    tmp_path: Path, communes: gpd.GeoDataFrame
) -> None:
    lines = contact_lines(10)
    lines[-1] = lines[-1].replace(";ras", ';"ras')
    path = tmp_path / "c.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    r = read_contacts(path, communes=communes, secret=SECRET).report
    assert (r.read, r.accepted, r.refused) == (10, 9, 1)
    assert r.refusals[0].row == 11


def test_partners_lose_no_row_to_an_unclosed_quote(tmp_path: Path) -> None:
    rows = [f"Partenaire {i};{i} rue X;46,45;2,75" for i in range(12)]
    rows[3] = '"Centre social;3 rue X;46,45;2,75'
    rows[9] = 'Partenaire 9;"9, rue X";46,45;2,75'
    path = tmp_path / "p.csv"
    path.write_text("nom;adresse;latitude;longitude\n" + "\n".join(rows) + "\n", encoding="utf-8")
    gdf, report = read_partners(path)
    assert (report.read, report.accepted, report.refused) == (12, 11, 1)
    assert report.refusals[0].row == 5 and "guillemet non fermé" in report.refusals[0].reason
    assert "9, rue X" in set(gdf["adresse"]) and "Centre social" not in set(gdf["nom"])


def test_places_commune_tables_and_teams_refuse_the_file_naming_the_line(
    tmp_path: Path, communes: gpd.GeoDataFrame
) -> None:
    from territory import InputFileError
    from territory.io.cog import read_commune_table
    from territory.rounds.week import read_places, read_teams

    places = tmp_path / "lieux.csv"
    places.write_text(
        "Lieux de la semaine\n\nnom;type;longitude;latitude\nParc;parc;2,75;46,45\n"
        '"Gare;gare;2,76;46,45\nMarché;marché;2,77;46,45\nHalle;"marché";2,78;46,45\n',
        encoding="utf-8",
    )
    with pytest.raises(InputFileError, match=r"lieux.csv : guillemet non fermé à la ligne 5 "):
        read_places(places, communes=communes)
    table = tmp_path / "communes.csv"
    table.write_text('CODGEO;LIBGEO;P21_POP\n00001;"Ville;10\n00002;Bourg;20\n', encoding="utf-8")
    with pytest.raises(InputFileError, match="à la ligne 2 "):
        read_commune_table(table)
    teams = tmp_path / "equipes.csv"
    teams.write_text(
        'nom;mode;base_lon;base_lat\n"Nord;marche;2,75;46,45\nSud;vélo;2,76;46,44\n',
        encoding="utf-8",
    )
    with pytest.raises(InputFileError, match="à la ligne 2 "):
        read_teams(teams)
