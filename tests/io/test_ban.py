"""The BAN addresses file of a département: reading (plain, gzip, bad rows) and importing."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from ban_sample import CALVADOS, COMMUNES_14, ban_csv, ban_line, write_ban

from territory import InputFileError, Settings
from territory.ingest import import_file
from territory.io import ban
from territory.io.ban import COLUMNS, TABLE, read_ban
from territory.store import Workspace


def read(path: Path, **options: object) -> tuple[pd.DataFrame, object]:
    chunks: list[pd.DataFrame] = []
    report = read_ban(path, sink=chunks.append, **options)
    rows = pd.concat(chunks, ignore_index=True) if chunks else ban.empty_table()
    return rows, report


@pytest.mark.parametrize("gz", [True, False])
def test_plain_and_gzip_files_give_the_same_addresses(tmp_path: Path, gz: bool) -> None:
    # the cache keeps downloads without their suffix: gzip is known by its first bytes
    path = write_ban(tmp_path / "adresses-14", gz=gz)
    rows, report = read(path)
    assert (report.read, report.accepted, report.refused) == (len(CALVADOS), len(CALVADOS), 0)
    assert list(rows.columns) == list(COLUMNS)
    first = rows.iloc[0]
    assert (first["numero"], first["rep"], first["voie"]) == (1, "", "place saint pierre")
    assert (first["code_postal"], first["code_insee"], first["departement"]) == (
        "14000",
        "14118",
        "14",
    )
    assert (first["lon"], first["lat"]) == (-0.3632, 49.1838)
    assert rows.loc[4, "rep"] == "bis"
    assert pd.isna(rows.loc[len(CALVADOS) - 1, "numero"])  # « Les Brandes »: no number
    assert rows.loc[len(CALVADOS) - 1, "voie"] == "brandes"


def test_bad_rows_are_refused_with_their_line_and_reason(tmp_path: Path) -> None:
    good = ban_line("7", "", "Rue Écuyère", "14000", "14118", "Caen", -0.3700, 49.1830)
    extra = (
        "14118_0001_00001;14118_0001;1;;Rue courte",  # line 20: too few fields
        ban_line("2", "", "Rue de Vaucelles", "14000", "1411", "Caen", -0.35, 49.17),
        ban_line("4", "", "", "14000", "14118", "Caen", -0.35, 49.17),
        ban_line("6", "", "Rue Basse", "14000", "14118", "Caen", "abc", 49.17),
        ban_line("8", "", "Rue Basse", "14000", "14118", "Caen", 120.0, 49.17),
        ban_line("9a", "", "Rue Basse", "14000", "14118", "Caen", -0.35, 49.17),
        "",  # an empty line is no row
        good,
        ban_line("11", "", "Rue Basse", "14OOO", "14118", "Caen", -0.35, 49.17),
    )
    rows, report = read(write_ban(tmp_path / "adresses-14.csv.gz", ban_csv(extra=extra)))
    n = len(CALVADOS)
    assert (report.read, report.accepted, report.refused, report.pending) == (n + 8, n + 2, 6, 0)
    assert [(r.row, r.reason) for r in report.refusals] == [
        (n + 2, "5 champ(s) au lieu de 23"),
        (n + 3, "code INSEE manquant ou invalide"),
        (n + 4, "nom de voie manquant"),
        (n + 5, "position (lon, lat) manquante, illisible ou hors de France"),
        (n + 6, "position (lon, lat) manquante, illisible ou hors de France"),
        (n + 7, "numéro illisible"),
    ]
    assert rows["voie"].tolist()[-2:] == ["rue ecuyere", "rue basse"]
    assert rows["code_postal"].tolist()[-1] == ""  # « 14OOO » is no postcode: left empty
    assert report.fixes == ["1 code(s) postal(aux) illisible(s) laissé(s) vide(s)"]


def test_line_numbers_hold_across_blocks(tmp_path: Path) -> None:
    extra = (ban_line("2", "", "Rue Basse", "14000", "99", "Caen", -0.35, 49.17),)
    path = write_ban(tmp_path / "adresses-14.csv", ban_csv(extra=extra), gz=False)
    _, report = read(path, block_lines=4)
    assert [r.row for r in report.refusals] == [len(CALVADOS) + 2]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"code;nom\n14118;Caen\n", "n'est pas un fichier d'adresses de la BAN"),
        (b"\x1f\x8b\x08\x00broken", "fichier compressé endommagé ou incomplet"),
    ],
)
def test_a_file_that_is_not_a_ban_file_is_one_french_error(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "adresses-14.csv.gz"
    path.write_bytes(content)
    with pytest.raises(InputFileError, match=message):
        read(path)


def test_a_file_that_is_not_utf8_is_one_french_error(tmp_path: Path) -> None:
    text = ban_csv(extra=(ban_line("3", "", "Rue Écuyère", "14000", "14118", "Caen", -0.3, 49.1),))
    path = tmp_path / "adresses-14.csv"
    path.write_bytes(text.encode("cp1252"))
    with pytest.raises(InputFileError, match="UTF-8"):
        read(path)


# ------------------------------------------------------------------ the import
@pytest.fixture
def ws(tmp_path: Path, settings: Settings) -> Workspace:
    workspace = Workspace.create(tmp_path / "calvados.gpkg", name="Calvados")
    import_file(workspace, "communes", COMMUNES_14, settings=settings, geocode=False)
    return workspace


def test_the_import_stores_the_addresses_and_reports_them(
    ws: Workspace, tmp_path: Path, settings: Settings
) -> None:
    report = import_file(
        ws, "ban", write_ban(tmp_path / "adresses-14.csv.gz"), settings=settings, vintage="2026-05"
    )
    assert (report.kind, report.read, report.accepted) == ("ban", len(CALVADOS), len(CALVADOS))
    assert f"département 14 : {len(CALVADOS)} adresse(s) ajoutée(s)" in report.notes
    stored = ws.read_table(TABLE)
    assert list(stored.columns) == list(COLUMNS)
    assert len(stored) == len(CALVADOS)
    info = ws.layers()[TABLE]
    assert (info.source, info.vintage, info.count) == (
        "adresses-14.csv.gz",
        "14 : 2026-05",
        len(CALVADOS),
    )
    assert info.licence == ban.LICENCE


def test_a_reimport_replaces_its_departement_and_keeps_the_others(
    ws: Workspace, tmp_path: Path, settings: Settings
) -> None:
    manche = [("3", "", "Rue du Port", "50100", "50129", "Cherbourg", -1.62, 49.64)]
    import_file(ws, "ban", write_ban(tmp_path / "adresses-14.csv.gz"), settings=settings)
    import_file(
        ws, "ban", write_ban(tmp_path / "adresses-50.csv", ban_csv(manche)), settings=settings
    )
    again = write_ban(tmp_path / "adresses-14-bis.csv.gz", ban_csv(CALVADOS[:5]))
    report = import_file(ws, "ban", again, settings=settings, vintage="2026-06")
    assert (
        f"département 14 : {len(CALVADOS)} adresse(s) de l'import précédent remplacée(s) par les "
        "5 de ce fichier" in report.notes
    )
    assert "adresses des autres départements conservées : 50 (1 adresse(s))" in report.notes
    stored = ws.read_table(TABLE)
    assert stored.groupby("departement").size().to_dict() == {"14": 5, "50": 1}
    info = ws.layers()[TABLE]
    assert info.count == 6
    assert info.source == "adresses-14-bis.csv.gz, adresses-50.csv"
    assert info.vintage.startswith("14 : 2026-06, 50 : fichier du ")


def test_a_failed_reimport_keeps_the_previous_addresses(
    ws: Workspace, tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_file(ws, "ban", write_ban(tmp_path / "adresses-14.csv.gz"), settings=settings)
    # the first blocks replace the département's rows, the last one cannot be read
    monkeypatch.setattr(ban, "BLOCK_LINES", 4)
    bad = ban_line("3", "", "Rue Ecuyere", "14000", "14118", "Caen", -0.37, 49.18).encode()
    path = tmp_path / "adresses-14-broken.csv"
    path.write_bytes(ban_csv(CALVADOS[:9]).encode() + bad.replace(b"Ecuyere", b"\xc9cuy\xe8re"))
    with pytest.raises(InputFileError, match="UTF-8"):
        import_file(ws, "ban", path, settings=settings)
    assert ws.layers()[TABLE].count == len(ws.read_table(TABLE)) == len(CALVADOS)
