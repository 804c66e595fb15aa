"""Contacts given by an address: geocoded on this machine against the imported BAN by default.

Privacy v2: people's addresses never leave the machine unless the import opts in, and the
online BAN's answers are then never cached on disk. Partner addresses (public) try the
imported BAN first, then the online BAN with its cache.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import requests
import responses
from ban_sample import COMMUNES_14, write_ban
from samples import multipart_form

from territory import Settings
from territory.ingest import import_file
from territory.io import _http, geocoding
from territory.io.geocoding import BAN_CSV_URL
from territory.privacy.raw import BATCH_COLUMN, STORED_COLUMNS
from territory.store import Workspace

TODAY = date(2026, 6, 1)
LOCAL = ["10 r. de Bayeux 14000 Caen", "Caen, 1 pl St Pierre", "13 rue de Bayeux, Caen"]
UNKNOWN = ["12 rue des Jardins Secrets 14000 Caen", "Chemin Perdu, Caen"]
CONTACTS = (
    "date;longitude;latitude;adresse;statut;id_jeune\n"
    "03/02/2026 14:00;-0,3700;49,1800;;premier contact;A1\n"
    + "".join(
        f"0{4 + i}/02/2026 17:30;;;{text};hors radars;B{i}\n"
        for i, text in enumerate(LOCAL + UNKNOWN)
    )
)


@pytest.fixture
def settings(tmp_path: Path, settings: Settings) -> Settings:
    """The session settings with an empty HTTP cache of this test's own."""
    return dataclasses.replace(settings, cache_dir=tmp_path / "cache")


@pytest.fixture
def ws(tmp_path: Path, settings: Settings) -> Workspace:
    """Caen, Hérouville and Évrecy, with the sample BAN of the Calvados imported."""
    workspace = Workspace.create(tmp_path / "calvados.gpkg", name="Calvados")
    import_file(workspace, "communes", COMMUNES_14, settings=settings, geocode=False)
    import_file(workspace, "ban", write_ban(tmp_path / "adresses-14.csv.gz"), settings=settings)
    return workspace


@pytest.fixture
def export(tmp_path: Path) -> Path:
    path = tmp_path / "equipe" / "contacts.csv"
    path.parent.mkdir()
    path.write_text(CONTACTS, encoding="utf-8")
    return path


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any request, or any call of the online geocoder, fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("aucune requête réseau n'était permise")

    monkeypatch.setattr(geocoding, "geocode_addresses", refuse)
    monkeypatch.setattr(_http, "_download", refuse)


def pending_rows(export: Path) -> list[str]:
    waiting = pd.read_csv(
        export.with_name("contacts.a_geocoder.csv"), sep=";", encoding="utf-8-sig", dtype=str
    )
    return waiting["adresse"].tolist()


def stored_text(ws: Workspace) -> str:
    return ws.query("SELECT * FROM contacts").astype(str).to_csv()


@pytest.mark.usefixtures("no_network")
def test_by_default_addresses_are_geocoded_here_without_any_request(
    ws: Workspace, export: Path, settings: Settings
) -> None:
    report = import_file(ws, "contacts", export, settings=settings, today=TODAY)
    assert (report.read, report.accepted, report.refused, report.pending) == (6, 4, 0, 2)
    assert "3 adresse(s) de contact géocodée(s) sur cette machine (BAN importée)" in report.fixes
    assert (
        "géocodage des contacts : 3 sur cette machine (BAN importée), 0 en ligne, 2 restent "
        "« à géocoder » (géocodage en ligne non demandé pour cet import)"
    ) in report.notes
    assert any(n.startswith("géocodage local (BAN importée, sans réseau) : 3 adresse(s) de contact")
               for n in report.notes)  # fmt: skip
    assert pending_rows(export) == UNKNOWN
    # only cells are stored; the report names no address
    stored = ws.query("SELECT * FROM contacts")
    assert set(stored.columns) - {"fid"} == {*STORED_COLUMNS, BATCH_COLUMN}
    assert stored["cell"].str.startswith("CRS3035RES200m").all()
    assert set(stored["commune"]) == {"14118"}
    text = stored_text(ws) + report.to_text()
    assert not any(word in text for word in ("Bayeux", "Pierre", "Jardins", "Perdu"))


@pytest.mark.usefixtures("no_network")
def test_without_an_imported_ban_addresses_wait_and_nothing_is_sent(
    tmp_path: Path, export: Path, settings: Settings
) -> None:
    ws = Workspace.create(tmp_path / "sans-ban.gpkg", name="Sans BAN")
    import_file(ws, "communes", COMMUNES_14, settings=settings, geocode=False)
    report = import_file(ws, "contacts", export, settings=settings, today=TODAY)
    assert (report.accepted, report.pending) == (1, 5)
    assert any(n.startswith("géocodage sur place impossible") for n in report.notes)
    assert pending_rows(export) == LOCAL + UNKNOWN


def online_answer(rows: list[tuple[int, str, float | None, float | None, float | None]]) -> str:
    """The BAN ``/search/csv/`` answer: id, the sent columns, then the result columns."""
    lines = ["id,adresse,code_insee,latitude,longitude,result_label,result_score,result_status"]
    for row_id, text, lon, lat, score in rows:
        found = score is not None
        lines.append(
            f'{row_id},"{text}",,{lat if found else ""},{lon if found else ""},'
            f"{'Rue des Jardins 14000 Caen' if found else ''},{score if found else ''},"
            f"{'ok' if found else 'not-found'}"
        )
    return "\n".join(lines) + "\n"


@responses.activate
def test_the_opt_in_sends_only_what_was_not_found_and_caches_nothing(
    ws: Workspace, export: Path, settings: Settings
) -> None:
    answer = online_answer([(0, UNKNOWN[0], -0.3650, 49.1900, 0.81), (1, UNKNOWN[1], *[None] * 3)])
    responses.post(BAN_CSV_URL, body=answer.encode("utf-8"))
    report = import_file(
        ws, "contacts", export, settings=settings, today=TODAY, geocode_online=True
    )
    assert (report.read, report.accepted, report.refused, report.pending) == (6, 5, 0, 1)
    assert "1 adresse(s) de contact géocodée(s) en ligne (BAN, réponses non conservées)" in (
        report.fixes
    )
    assert (
        "géocodage des contacts : 3 sur cette machine (BAN importée), 1 en ligne, 1 restent "
        "« à géocoder »"
    ) in report.notes
    # one request, holding the two addresses not found here and none of the others
    assert len(responses.calls) == 1
    sent = multipart_form(responses.calls[0].request)["data"].decode("utf-8")
    assert all(text in sent for text in UNKNOWN)
    assert not any(text in sent for text in LOCAL)
    assert pending_rows(export) == UNKNOWN[1:]
    # nothing of the request or the answer was written to the cache
    cache = Path(settings.cache_dir)
    files = [p for p in cache.rglob("*") if p.is_file()] if cache.exists() else []
    for path in files:
        content = path.read_bytes().decode("utf-8", errors="replace")
        assert not any(text in content for text in LOCAL + UNKNOWN), path
    assert not files
    assert "Jardins" not in stored_text(ws) + report.to_text()


@responses.activate
def test_the_opt_in_offline_leaves_the_rows_pending(
    ws: Workspace, export: Path, settings: Settings
) -> None:
    responses.post(BAN_CSV_URL, body=requests.ConnectionError("réseau coupé"))
    report = import_file(
        ws, "contacts", export, settings=settings, today=TODAY, geocode_online=True
    )
    assert (report.accepted, report.pending) == (4, 2)
    assert "BAN en ligne injoignable : 2 contact(s) non géocodé(s)" in report.notes
    assert pending_rows(export) == UNKNOWN


def test_geocode_false_leaves_every_address_pending(
    ws: Workspace, export: Path, settings: Settings, no_network: None
) -> None:
    report = import_file(ws, "contacts", export, settings=settings, today=TODAY, geocode=False)
    assert (report.accepted, report.pending) == (1, 5)


# ------------------------------------------------------------------------ partners
PARTNERS = (
    "nom;typologie;adresse;code_insee\n"
    "Centre social des Chanoines;CS;15 Rue des Chanoines;14118\n"
    "Mission locale;ML;1 Esplanade Jean-Marie Louvel;14118\n"
    "Point information jeunesse;PIJ;8 avenue Inconnue;14327\n"
)


@responses.activate
def test_partners_try_the_imported_ban_first_then_the_online_one(
    ws: Workspace, tmp_path: Path, settings: Settings
) -> None:
    answer = (
        "id,adresse,code_insee,latitude,longitude,result_label,result_score\n"
        "0,8 avenue Inconnue,14327,49.2010,-0.3210,8 Avenue Inconnue 14200 Hérouville,0.77\n"
    )
    responses.post(BAN_CSV_URL, body=answer.encode("utf-8"))
    path = tmp_path / "partenaires.csv"
    path.write_text(PARTNERS, encoding="utf-8")
    report = import_file(ws, "partners", path, settings=settings)
    assert (report.accepted, report.pending) == (3, 0)
    assert "2 adresse(s) géocodée(s) avec la BAN importée (sans réseau)" in report.fixes
    layer = ws.read_layer("partners").set_index("nom")
    assert layer.loc["Mission locale", "statut"] == "géocodé (BAN locale, numéro, score 1,00)"
    assert layer.loc["Mission locale"].geometry.x == pytest.approx(-0.372286)
    assert layer.loc["Point information jeunesse", "statut"] == "géocodé (BAN, score 0,77)"
    sent = multipart_form(responses.calls[0].request)["data"].decode("utf-8")
    assert "Inconnue" in sent and "Chanoines" not in sent
    # public addresses: the online answer is cached, as before
    assert list(Path(settings.cache_dir).glob("*.csv"))
