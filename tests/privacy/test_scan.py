"""A scan of every byte the product leaves on disk after an import and after a purge.

``privacy.md`` (How it is checked): after an import and after a purge, the workspace,
the caches and every side file hold no free text, address, name, unhashed key or
coordinate finer than a cell. The team's export below holds all of them: names in a
column nobody maps, a phone number and a name as "partner", a free-text comment, a
made-up status, raw person keys, birth dates, precise coordinates and addresses (one
found in the imported BAN, one only online, one nowhere). Every file of the workspace's
folder, of the HTTP cache and of the temporary folder is then read as bytes; the side
files beside the export (refused rows, rows « à géocoder ») are the only place the rows
may be, readable by their owner only.
"""

from __future__ import annotations

import dataclasses
import stat
import struct
import tempfile
from datetime import date
from pathlib import Path

import pytest
import requests
import responses
from ban_sample import COMMUNES_14, write_ban

from territory import Settings
from territory.ingest import import_file
from territory.io.contacts import side_file_paths
from territory.io.geocoding import BAN_CSV_URL
from territory.privacy.raw import BATCH_COLUMN, STORED_COLUMNS, purge
from territory.store import Workspace

TODAY = date(2026, 6, 1)
HEADER = (
    "date;longitude;latitude;adresse;statut;tranche_age;sexe;partenaire_orientation;"
    "id_personne;commentaire;nom"
)
ROWS = [
    (
        "03/02/2026 14:37;-0,371234;49,181234;;premier contact;18-21;F;06 12 34 56 78;"
        "JEUNE-P0042;Mme Dupont l'a vu près du kiosque;Kevin Martin"
    ),
    (
        "04/02/2026 15:12;-0,362187;49,185421;;suivi;22-25;H;Mme Dupont;JEUNE-P0043;"
        "rappeler au 07 11 22 33 44;Sarah Bernard"
    ),
    (
        "05/02/2026 16:05;;;10 r. de Bayeux 14000 Caen;hors radars;22-25;F;mission locale;"
        "JEUNE-P0044;dort chez sa tante;Lucas Petit"
    ),
    (
        "06/02/2026 17:30;;;12 rue des Jardins Secrets 14000 Caen;statut inventé par Mme Dupont;"
        "18-21;F;;JEUNE-P0045;;Emma Leroy"
    ),
    (
        "31/02/2026 10:00;-0,371299;49,181299;;premier contact;18-21;F;;JEUNE-P0046;"
        "date impossible;Hugo Moreau"
    ),
    "10/07/2024 10:00;-0,365432;49,183456;;suivi;18-21;H;;JEUNE-P0047;ancien contact;Louis Roux",
]
"""One contact each: precise point; point; BAN address; unknown address; impossible
date (refused); old (purged)."""
ONLINE = (
    "date;adresse;date_naissance;statut;id_personne;remarque\n"
    "07/02/2026 18:00;3 impasse du Pressoir Caché 14000 Caen;12/03/2005;suivi;JEUNE-P0048;"
    "vu avec Mme Dupont\n"
)
"""A second export, by address only, geocoded online (opt-in): the answer is mocked."""
ONLINE_POINT = (-0.364871, 49.191357)
PARTNERS = "nom;typologie;adresse;code_insee\nPoint jeunesse du Parc;PIJ;8 avenue Inconnue;14327\n"

PERSONAL = [
    "06 12 34 56 78",
    "0612345678",
    "07 11 22 33 44",
    "Dupont",
    "kiosque",
    "Kevin Martin",
    "Sarah Bernard",
    "Lucas Petit",
    "Emma Leroy",
    "Hugo Moreau",
    "Louis Roux",
    "chez sa tante",
    "rappeler",
    "10 r. de Bayeux",
    "Jardins Secrets",
    "Pressoir",
    "statut inventé",
    "JEUNE-P",
    "P0042",
    "12/03/2005",
    "2005-03-12",
    "14:37",
    "date impossible",
    "ancien contact",
]
"""Texts of the exports that must never be stored: free text, names, addresses, keys."""
POINTS = [(-0.371234, 49.181234), (-0.362187, 49.185421), (-0.371299, 49.181299)]
POINTS += [(-0.365432, 49.183456), ONLINE_POINT]
"""Positions finer than a cell: given in the exports, or answered by the online BAN."""


def forms(text: str) -> list[bytes]:
    """The spellings a text may be stored in: as given, lower and upper case."""
    return [t.encode("utf-8") for t in dict.fromkeys([text, text.lower(), text.upper()])]


def coordinate_forms(value: float) -> list[bytes]:
    """A coordinate written as decimal text (4 to 6 decimals, point or comma) or binary."""
    out = []
    for decimals in (6, 5, 4):
        text = f"{abs(value):.{decimals}f}"
        out += [text.encode(), text.replace(".", ",").encode()]
    for fmt in ("<d", ">d", "<f", ">f"):
        out.append(struct.pack(fmt, value))
    return out


def leaks(data: bytes) -> list[str]:
    """What personal content ``data`` holds (empty: nothing)."""
    found = [text for text in PERSONAL if any(f in data for f in forms(text))]
    for lon, lat in POINTS:
        for value in (lon, lat):
            found += [f"{value} as {f!r}" for f in coordinate_forms(value) if f in data]
    return found


def scanned(folder: Path) -> dict[Path, list[str]]:
    """Every file under ``folder`` with what it leaks (only those that leak)."""
    files = [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []
    return {p: found for p in files if (found := leaks(p.read_bytes()))}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Separate folders: workspace, team, HTTP cache, temporary files (Python and SQLite)."""
    out = {name: tmp_path / name for name in ("workspace", "equipe", "cache", "tmp")}
    for name in ("workspace", "equipe", "tmp"):
        out[name].mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(out["tmp"]))
    monkeypatch.setenv("TMPDIR", str(out["tmp"]))
    monkeypatch.setenv("SQLITE_TMPDIR", str(out["tmp"]))
    return out


@pytest.fixture
def scan_settings(settings: Settings, folders: dict[str, Path]) -> Settings:
    """The session settings with an HTTP cache of this test's own."""
    return dataclasses.replace(settings, cache_dir=folders["cache"])


def online_answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
    """The BAN's batch answer: the contact's address (mocked position), or the partner's."""
    body = request.body if isinstance(request.body, bytes) else b""
    header = "id,adresse,code_insee,latitude,longitude,result_label,result_score,result_status\n"
    if b"Pressoir" in body:
        lon, lat = ONLINE_POINT
        line = f'0,"3 impasse du Pressoir Caché 14000 Caen",,{lat},{lon},Caen,0.81,ok\n'
    else:
        line = '0,"8 avenue Inconnue",14327,49.2010,-0.3210,8 Avenue Inconnue,0.77,ok\n'
    return 200, {}, header + line


@responses.activate
def test_nothing_personal_is_left_after_an_import_and_after_a_purge(
    folders: dict[str, Path], scan_settings: Settings
) -> None:
    settings = scan_settings
    responses.add_callback(responses.POST, BAN_CSV_URL, callback=online_answer)
    ws = Workspace.create(folders["workspace"] / "calvados.gpkg", name="Calvados")
    import_file(ws, "communes", COMMUNES_14, settings=settings, geocode=False)
    ban = write_ban(folders["tmp"].parent / "adresses-14.csv.gz")
    import_file(ws, "ban", ban, settings=settings)
    export = folders["equipe"] / "contacts.csv"
    export.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    online = folders["equipe"] / "adresses.csv"
    online.write_text(ONLINE, encoding="utf-8")
    partners = folders["tmp"].parent / "partenaires.csv"
    partners.write_text(PARTNERS, encoding="utf-8")

    first = import_file(ws, "contacts", export, settings=settings, today=TODAY)
    second = import_file(
        ws, "contacts", online, settings=settings, today=TODAY, geocode_online=True
    )
    import_file(ws, "partners", partners, settings=settings)  # public: its answer is cached

    # the scan finds what the exports hold
    given = leaks(export.read_bytes() + online.read_bytes())
    assert set(PERSONAL) - {"0612345678", "2005-03-12"} <= set(given)  # (normalised forms)
    assert sum(" as " in found for found in given) >= 4 * 2 * 2  # four points, lon/lat, . or ,

    # what was imported: four contacts placed here, one online; one refused, one pending
    assert (first.accepted, first.refused, first.pending) == (4, 1, 1)
    assert (second.accepted, second.pending) == (1, 0)
    assert len(responses.calls) == 2
    stored = ws.query("SELECT * FROM contacts")
    assert set(stored.columns) - {"fid"} == {*STORED_COLUMNS, BATCH_COLUMN}
    assert stored["cell"].str.fullmatch(r"CRS3035RES200mN\d+E\d+").all()
    # the scan finds what is there: the side files hold the rows, the cache the partner's
    refused, pending = side_file_paths(export).refused, side_file_paths(export).pending
    assert refused is not None and pending is not None
    assert "Hugo Moreau" in leaks(refused.read_bytes())
    assert "Jardins Secrets" in leaks(pending.read_bytes())
    assert any(b"Inconnue" in p.read_bytes() for p in folders["cache"].rglob("*") if p.is_file())

    # after the import: nothing in the workspace, the cache, the temporary files, the reports
    assert scanned(folders["workspace"]) == {}
    assert scanned(folders["cache"]) == {}
    assert scanned(folders["tmp"]) == {}
    assert list(folders["tmp"].iterdir()) == []
    assert leaks((first.to_text() + second.to_text()).encode()) == []
    secret = Path(settings.secret_path).read_bytes()
    assert secret not in Path(ws.path).read_bytes()
    # side files: beside the export only, readable by their owner only
    beside = sorted(p.name for p in folders["equipe"].iterdir())
    assert beside == sorted(["contacts.csv", "adresses.csv", refused.name, pending.name])
    for side in (refused, pending):
        assert mode(side) == 0o600, side
    assert not side_file_paths(online).refused.exists()  # type: ignore[union-attr]

    # after a purge of the contact of July 2024: it leaves no trace, nothing else appears
    old = ws.query("SELECT personne, fingerprint FROM contacts WHERE date < '2024-12-01'")
    assert len(old) == 1
    gone = [str(old["personne"].iloc[0]).encode(), str(old["fingerprint"].iloc[0]).encode()]
    assert all(g in Path(ws.path).read_bytes() for g in gone)
    assert purge(ws, older_than_months=24, today=date(2026, 12, 1)) == 1
    for path in folders["workspace"].iterdir():
        data = path.read_bytes()
        assert [g for g in gone if g in data] == [], path
    assert [p.name for p in folders["workspace"].iterdir()] == ["calvados.gpkg"]
    assert scanned(folders["workspace"]) == {}
    assert scanned(folders["cache"]) == {}
    assert scanned(folders["tmp"]) == {}
    for side in (refused, pending):
        assert mode(side) == 0o600, side
