"""``territory import ban`` and the per-import opt-in ``--geocodage-en-ligne`` of contacts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses
from ban_sample import CALVADOS, COMMUNES_14, write_ban

from territory.cli import EXIT_OK, EXIT_USAGE, main
from territory.io import _http, geocoding
from territory.io.geocoding import BAN_CSV_URL

CONTACTS = (
    "date;adresse;statut\n"
    "03/02/2026 14:00;10 rue de Bayeux 14000 Caen;premier contact\n"
    "04/02/2026 17:30;12 rue des Jardins Secrets 14000 Caen;hors radars\n"
)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private secret and HTTP cache for the command; returns the workspace path."""
    monkeypatch.setenv("TERRITORY_SECRET_PATH", str(tmp_path / "secret.key"))
    monkeypatch.setenv("TERRITORY_CACHE_DIR", str(tmp_path / "cache"))
    workspace = tmp_path / "calvados.gpkg"
    args = ["import", "communes", str(COMMUNES_14), "--workspace", str(workspace)]
    assert main([*args, "--create", "Calvados"]) == EXIT_OK
    return workspace


@pytest.fixture
def contacts_file(tmp_path: Path) -> Path:
    path = tmp_path / "contacts.csv"
    path.write_text(CONTACTS, encoding="utf-8")
    return path


def test_import_ban_reports_the_departement(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_ban(tmp_path / "adresses-14.csv.gz")
    capsys.readouterr()
    assert main(["import", "ban", str(path), "--workspace", str(env), "--json"]) == EXIT_OK
    report = json.loads(capsys.readouterr().out)
    assert (report["kind"], report["read"], report["accepted"]) == (
        "ban",
        len(CALVADOS),
        len(CALVADOS),
    )
    assert f"département 14 : {len(CALVADOS)} adresse(s) ajoutée(s)" in report["notes"]


def test_a_file_that_is_not_a_ban_file_is_one_french_line(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "adresses-14.csv"
    path.write_text("code;nom\n14118;Caen\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["import", "ban", str(path), "--workspace", str(env)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("territory : erreur : adresses-14.csv n'est pas un fichier d'adresses")
    assert err.count("\n") == 1


def test_contacts_are_geocoded_here_without_the_flag(
    env: Path,
    tmp_path: Path,
    contacts_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("aucune requête réseau n'était permise")

    monkeypatch.setattr(geocoding, "geocode_addresses", refuse)
    monkeypatch.setattr(_http, "_download", refuse)
    main(["import", "ban", str(write_ban(tmp_path / "a.csv.gz")), "--workspace", str(env)])
    capsys.readouterr()
    args = ["import", "contacts", str(contacts_file), "--workspace", str(env), "--json"]
    assert main(args) == EXIT_OK
    out = capsys.readouterr()
    report = json.loads(out.out)
    assert (report["accepted"], report["pending"]) == (1, 1)
    assert report["pending_file"] == str(tmp_path / "contacts.a_geocoder.csv")
    assert "attention" not in out.err


@responses.activate
def test_the_flag_sends_what_was_not_found_and_warns(
    env: Path, tmp_path: Path, contacts_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    responses.post(
        BAN_CSV_URL,
        body="id,adresse,code_insee,latitude,longitude,result_label,result_score\n"
        "0,12 rue des Jardins Secrets 14000 Caen,,49.19,-0.365,Rue des Jardins 14000 Caen,0.8\n",
    )
    main(["import", "ban", str(write_ban(tmp_path / "a.csv.gz")), "--workspace", str(env)])
    capsys.readouterr()
    args = ["import", "contacts", str(contacts_file), "--workspace", str(env), "--json"]
    assert main([*args, "--geocodage-en-ligne"]) == EXIT_OK
    out = capsys.readouterr()
    report = json.loads(out.out)
    assert (report["accepted"], report["pending"]) == (2, 0)
    assert out.err.startswith("attention : les adresses de contacts introuvables")
    assert len(responses.calls) == 1
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*.csv"))


def test_the_flag_is_for_contacts_only(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_ban(tmp_path / "adresses-14.csv.gz")
    capsys.readouterr()
    args = ["import", "ban", str(path), "--workspace", str(env), "--geocodage-en-ligne"]
    assert main(args) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err == (
        "territory : erreur : --geocodage-en-ligne ne concerne que l'import de contacts\n"
    )
