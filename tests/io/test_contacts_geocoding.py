"""Contacts given by an address: geocoded with the BAN (recorded answers), then anonymised."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
import requests
import responses
from conftest import demo_copy_without_territories
from samples import RECORDED
from samples import multipart_form as _form

from territory import Settings
from territory.ingest import import_file
from territory.io.geocoding import BAN_CSV_URL
from territory.privacy.raw import BATCH_COLUMN, STORED_COLUMNS
from territory.store import Workspace


@pytest.fixture
def offline_cache(tmp_path: Path, settings: Settings) -> Settings:
    """The session settings with an empty HTTP cache: every test asks the BAN itself."""
    return dataclasses.replace(settings, cache_dir=tmp_path / "cache")


@pytest.fixture
def contacts_with_addresses(tmp_path: Path) -> Path:
    path = tmp_path / "contacts.csv"
    path.write_text(
        "date;longitude;latitude;adresse;statut;id_jeune\n"
        "03/02/2026 14:00;2,760263;46,426155;;premier contact;A1\n"
        "04/02/2026 17:30;;;Place de la Mairie Ardoise-la-Ville;hors radars;A2\n"
        "05/02/2026 10:00;;;Lieu-dit Les Brandes;hors radars;A3\n",
        encoding="utf-8",
    )
    return path


@responses.activate
def test_contacts_given_by_address_are_geocoded_then_anonymised(
    demo_workspace: Path, tmp_path: Path, offline_cache: Settings, contacts_with_addresses: Path
) -> None:
    responses.post(BAN_CSV_URL, body=(RECORDED / "ban_contacts_2.csv").read_bytes())
    ws = Workspace.open(demo_copy_without_territories(demo_workspace, tmp_path))
    before = ws.layers()["contacts"].count
    report = import_file(ws, "contacts", contacts_with_addresses, settings=offline_cache)
    assert (report.read, report.accepted, report.refused, report.pending) == (3, 2, 0, 1)
    assert "1 adresse(s) de contact géocodée(s) avec la BAN" in report.fixes
    assert ws.layers()["contacts"].count == before + 2
    # the address is only in the request, never stored; the unplaced row waits beside the file
    stored = ws.query("SELECT * FROM contacts ORDER BY rowid DESC LIMIT 2")
    assert set(stored.columns) - {"fid"} == {*STORED_COLUMNS, BATCH_COLUMN}
    assert not stored.astype(str).apply(lambda c: c.str.contains("Mairie")).any(axis=None)
    assert stored["cell"].str.startswith("CRS3035RES200m").all()
    waiting = pd.read_csv(tmp_path / "contacts.a_geocoder.csv", sep=";", encoding="utf-8-sig")
    assert waiting["adresse"].tolist() == ["Lieu-dit Les Brandes"]
    assert _form(responses.calls[0].request)["columns"] == b"adresse"


@responses.activate
def test_contacts_wait_for_geocoding_when_the_ban_is_offline(
    demo_workspace: Path, tmp_path: Path, offline_cache: Settings, contacts_with_addresses: Path
) -> None:
    responses.post(BAN_CSV_URL, body=requests.ConnectionError("réseau coupé"))
    ws = Workspace.open(demo_copy_without_territories(demo_workspace, tmp_path))
    report = import_file(ws, "contacts", contacts_with_addresses, settings=offline_cache)
    assert (report.read, report.accepted, report.pending) == (3, 1, 2)
    assert "BAN injoignable : 2 contact(s) restent « à géocoder »" in report.notes
    waiting = pd.read_csv(tmp_path / "contacts.a_geocoder.csv", sep=";", encoding="utf-8-sig")
    assert len(waiting) == 2
