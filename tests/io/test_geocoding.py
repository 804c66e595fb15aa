"""BAN batch geocoding: request shape, parsing, cache, offline, and the partners import.

The BAN answers in ``tests/data/recorded/ban_*.csv`` are written by hand in the shape of
the real ``/search/csv/`` output (input columns, then ``latitude, longitude,
result_label, result_score, …, result_citycode, …, result_status``); no network is used.
"""

from __future__ import annotations

import dataclasses
import io
import math
from pathlib import Path

import pandas as pd
import pytest
import requests
import responses
from samples import RECORDED, multipart_form

from territory import Settings
from territory._errors import NetworkError
from territory.ingest import import_file
from territory.io import geocoding
from territory.io.geocoding import BAN_CSV_URL, REASON_NOT_FOUND, geocode_addresses
from territory.io.partners import STATUS_PENDING
from territory.store import Workspace

THREE = pd.DataFrame(
    {
        "adresse": [
            "1 Esplanade Jean-Marie Louvel",
            "Place de l'Église",
            "Lieu-dit La Grande Pièce",
        ],
        "code_insee": ["14118", "14101", "14271"],
    },
    index=[10, 11, 12],
)
PARTNERS_CSV = (
    "nom;typologie;adresse;code_insee\n"
    "Centre social des Chanoines;CS;15 Rue des Chanoines;14118\n"
    "Mission locale d'Hérouville;ML;2 Place de la Mairie;14327\n"
)


@pytest.fixture
def settings(tmp_path: Path, settings: Settings) -> Settings:
    return dataclasses.replace(settings, cache_dir=tmp_path / "cache")


@pytest.fixture
def partners_file(tmp_path: Path) -> Path:
    path = tmp_path / "partenaires.csv"
    path.write_text(PARTNERS_CSV, encoding="utf-8")
    return path


@responses.activate
def test_three_addresses_one_geocoded_two_with_reasons(settings: Settings) -> None:
    responses.post(BAN_CSV_URL, body=(RECORDED / "ban_search_csv_3.csv").read_bytes())
    found, notes = geocode_addresses(THREE, settings=settings)
    assert list(found.index) == [10, 11, 12]
    good = found.loc[10]
    assert (good["longitude"], good["latitude"]) == (-0.372286, 49.181466)
    assert good["score"] == pytest.approx(0.8712, abs=1e-4)
    assert good["label"] == "1 Esplanade Jean-Marie Louvel 14000 Caen"
    assert good["reason"] is None
    low = found.loc[11]
    assert math.isnan(low["longitude"]) and math.isnan(low["latitude"])
    assert low["reason"] == (
        "score BAN trop faible (0,34 < 0,50) pour « Rue de l'Église 14760 Bretteville-sur-Odon »"
    )
    assert found.loc[12, "reason"] == REASON_NOT_FOUND
    assert math.isnan(found.loc[12, "score"])
    assert "1 adresse(s) sur 3 géocodée(s)" in notes[0]
    assert notes[1] == (
        "2 adresse(s) non géocodée(s) (adresse introuvable dans la BAN : 1, score trop faible : 1)"
    )


@responses.activate
def test_the_request_carries_the_file_and_the_form_fields(settings: Settings) -> None:
    responses.post(BAN_CSV_URL, body=(RECORDED / "ban_search_csv_3.csv").read_bytes())
    geocode_addresses(THREE, settings=settings)
    [call] = responses.calls
    assert call.request.method == "POST" and call.request.url == BAN_CSV_URL
    assert call.request.headers["Content-Type"].startswith("multipart/form-data")
    assert call.request.headers["User-Agent"] == settings.user_agent
    form = multipart_form(call.request)
    assert form["columns"] == b"adresse"
    assert form["citycode"] == b"code_insee"
    sent = pd.read_csv(io.BytesIO(form["data"]), dtype=str)
    assert list(sent.columns) == ["id", "adresse", "code_insee"]
    assert sent["id"].tolist() == ["0", "1", "2"]
    assert sent["code_insee"].tolist() == ["14118", "14101", "14271"]


@responses.activate
def test_the_same_batch_is_answered_from_the_cache(settings: Settings) -> None:
    responses.post(BAN_CSV_URL, body=(RECORDED / "ban_search_csv_3.csv").read_bytes())
    first, _ = geocode_addresses(THREE, settings=settings)
    second, _ = geocode_addresses(THREE, settings=settings)
    assert len(responses.calls) == 1
    pd.testing.assert_frame_equal(first, second)
    assert [p.suffix for p in Path(settings.cache_dir).iterdir()] == [".csv"]


@responses.activate
def test_empty_addresses_are_not_sent(settings: Settings) -> None:
    frame = pd.DataFrame({"adresse": ["", None], "code_insee": ["14118", ""]})
    found, notes = geocode_addresses(frame, settings=settings)
    assert not responses.calls
    assert found["reason"].tolist() == ["adresse vide", "adresse vide"]
    assert "adresse vide : 2" in notes[1]


@responses.activate
def test_large_frames_are_sent_in_chunks(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fake BAN that echoes each uploaded row with a perfect score."""

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        sent = pd.read_csv(io.BytesIO(multipart_form(request)["data"]), dtype=str)
        sent["latitude"], sent["longitude"] = "49.18", "-0.37"
        sent["result_label"], sent["result_score"] = sent["adresse"], "0.99"
        return 200, {}, sent.to_csv(index=False).encode()

    monkeypatch.setattr(geocoding, "CHUNK_ROWS", 2)
    responses.add_callback(responses.POST, BAN_CSV_URL, callback=answer)
    frame = pd.DataFrame({"adresse": ["a", "", "b", "c"], "code_insee": ["14118"] * 4})
    found, _ = geocode_addresses(frame, settings=settings)
    assert len(responses.calls) == 2
    assert found["label"].tolist() == ["a", "", "b", "c"]
    assert found["reason"].isna().tolist() == [True, False, True, True]


@responses.activate
def test_an_unreadable_answer_is_a_network_error_and_not_cached(settings: Settings) -> None:
    responses.post(BAN_CSV_URL, body=b"<html>maintenance</html>")
    with pytest.raises(NetworkError, match="illisible"):
        geocode_addresses(THREE, settings=settings)
    assert not [p for p in Path(settings.cache_dir).iterdir() if not p.name.startswith(".")]


@responses.activate
def test_offline_is_a_network_error(settings: Settings) -> None:
    responses.post(BAN_CSV_URL, body=requests.ConnectionError("réseau coupé"))
    with pytest.raises(NetworkError, match="ne répond pas"):
        geocode_addresses(THREE, settings=settings)


# ----------------------------------------------------------------- partners import
@responses.activate
def test_import_geocodes_address_only_partners(
    tmp_path: Path, settings: Settings, partners_file: Path
) -> None:
    responses.post(BAN_CSV_URL, body=(RECORDED / "ban_partners_2.csv").read_bytes())
    ws = Workspace.create(tmp_path / "w.gpkg", name="Essai")
    report = import_file(ws, "partners", partners_file, settings=settings)
    assert (report.read, report.accepted, report.pending, report.refused) == (2, 2, 0, 0)
    assert "2 adresse(s) géocodée(s) avec la BAN" in report.fixes
    assert report.fixed == 2
    assert any(n.startswith("géocodage BAN : 2 adresse(s) sur 2") for n in report.notes)
    report.check()
    layer = ws.read_layer("partners").set_index("nom")
    assert layer["statut"].tolist() == [
        "géocodé (BAN, score 0,96)",
        "géocodé (BAN, score 0,78)",
    ]
    point = layer.geometry["Centre social des Chanoines"]
    assert (point.x, point.y) == pytest.approx((-0.360493, 49.186921))
    assert multipart_form(responses.calls[0].request)["columns"] == b"adresse"


@responses.activate
def test_import_offline_keeps_partners_pending(
    tmp_path: Path, settings: Settings, partners_file: Path
) -> None:
    responses.post(BAN_CSV_URL, body=requests.ConnectionError("réseau coupé"))
    ws = Workspace.create(tmp_path / "w.gpkg", name="Essai")
    report = import_file(ws, "partners", partners_file, settings=settings)
    assert (report.read, report.accepted, report.pending) == (2, 0, 2)
    assert "BAN injoignable : 2 partenaire(s) restent « à géocoder »" in report.notes
    report.check()
    layer = ws.read_layer("partners")
    assert len(layer) == 2 and layer.geometry.isna().all()
    assert set(layer["statut"]) == {STATUS_PENDING}


@responses.activate
def test_import_keeps_low_scores_pending_with_their_reason(
    tmp_path: Path, settings: Settings
) -> None:
    path = tmp_path / "trois.csv"
    THREE.assign(nom=["A", "B", "C"]).to_csv(path, index=False)
    responses.post(BAN_CSV_URL, body=(RECORDED / "ban_search_csv_3.csv").read_bytes())
    ws = Workspace.create(tmp_path / "w.gpkg", name="Essai")
    report = import_file(ws, "partners", path, settings=settings)
    assert (report.read, report.accepted, report.pending) == (3, 1, 2)
    report.check()
    assert f"« C » reste à géocoder : {REASON_NOT_FOUND}" in report.notes
    assert any(n.startswith("« B » reste à géocoder : score BAN trop faible") for n in report.notes)
    statut = ws.read_layer("partners").set_index("nom")["statut"]
    assert statut.to_dict() == {
        "A": "géocodé (BAN, score 0,87)",
        "B": STATUS_PENDING,
        "C": STATUS_PENDING,
    }


@responses.activate
def test_import_without_geocoding_makes_no_request(
    tmp_path: Path, settings: Settings, partners_file: Path
) -> None:
    ws = Workspace.create(tmp_path / "w.gpkg", name="Essai")
    report = import_file(ws, "partners", partners_file, settings=settings, geocode=False)
    assert not responses.calls
    assert (report.read, report.pending) == (2, 2)
    assert not any("BAN" in n for n in report.notes)
