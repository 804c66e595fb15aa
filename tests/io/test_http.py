"""The HTTP layer: cache, retries, Retry-After, offline and failed answers (no real network)."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest
import requests
import responses

from territory import Settings, TerritoryError
from territory.io import _http
from territory.io._http import NetworkError

URL = "https://geo.api.gouv.fr/departements/14/communes"
BODY = b'{"type": "FeatureCollection", "features": []}'


@pytest.fixture
def settings(tmp_path: Path, settings: Settings) -> Settings:
    return dataclasses.replace(settings, cache_dir=tmp_path / "cache", http_timeout_s=7.5)


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits between attempts, recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr(_http, "_sleep", recorded.append)
    return recorded


def _cache_files(settings: Settings) -> list[Path]:
    folder = Path(settings.cache_dir)
    return sorted(folder.iterdir()) if folder.exists() else []


@responses.activate
def test_a_cached_answer_is_not_requested_again(settings: Settings) -> None:
    responses.get(URL, body=BODY)
    first = _http.get(URL, settings=settings, params={"format": "geojson"})
    second = _http.get(URL, settings=settings, params={"format": "geojson"})
    assert first == second == BODY
    assert len(responses.calls) == 1
    path = _http.cache_path(URL, {"format": "geojson"}, settings=settings)
    assert path.name == hashlib.sha256(f"{URL}?format=geojson".encode()).hexdigest()
    assert _cache_files(settings) == [path]


@responses.activate
def test_user_agent_accept_and_timeout_come_from_settings(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, object] = {}
    real_get = requests.get

    def spy(url: str, **kwargs: object) -> requests.Response:
        seen.update(kwargs)
        return real_get(url, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_http.requests, "get", spy)
    responses.get(URL, body=BODY)
    _http.get(URL, settings=settings, accept="application/geo+json", headers={"X-Test": "1"})
    sent = responses.calls[0].request.headers
    assert sent["User-Agent"] == settings.user_agent
    assert sent["Accept"] == "application/geo+json"
    assert sent["X-Test"] == "1"
    assert seen["timeout"] == 7.5


@responses.activate
def test_a_server_error_is_retried_with_backoff(settings: Settings, waits: list[float]) -> None:
    responses.get(URL, status=500)
    responses.get(URL, status=503)
    responses.get(URL, body=BODY)
    assert _http.get(URL, settings=settings) == BODY
    assert len(responses.calls) == 3
    assert waits == [_http.BACKOFF_S, 2 * _http.BACKOFF_S]


@responses.activate
def test_retry_after_is_honoured_on_429(settings: Settings, waits: list[float]) -> None:
    responses.get(URL, status=429, headers={"Retry-After": "7"})
    responses.get(URL, body=BODY)
    assert _http.get(URL, settings=settings) == BODY
    assert waits == [7.0]


@responses.activate
def test_a_very_long_retry_after_fails_at_once(settings: Settings, waits: list[float]) -> None:
    responses.get(URL, status=429, headers={"Retry-After": "3600"})
    with pytest.raises(NetworkError, match=r"limite le nombre de requêtes.*3600 s") as info:
        _http.get(URL, settings=settings)
    assert (info.value.status, waits, len(responses.calls)) == (429, [], 1)


@responses.activate
def test_persistent_server_errors_give_up_and_cache_nothing(
    settings: Settings, waits: list[float]
) -> None:
    responses.get(URL, status=502)
    with pytest.raises(NetworkError, match=r"HTTP 502 après 4 tentatives") as info:
        _http.get(URL, settings=settings)
    assert len(responses.calls) == _http.MAX_ATTEMPTS
    assert len(waits) == _http.MAX_ATTEMPTS - 1
    assert info.value.host == "geo.api.gouv.fr"
    assert _cache_files(settings) == []


@responses.activate
def test_offline_gives_a_french_message_and_writes_nothing(
    settings: Settings, waits: list[float]
) -> None:
    responses.get(URL, body=requests.ConnectionError("Name or service not known"))
    with pytest.raises(NetworkError) as info:
        _http.get(URL, settings=settings)
    message = str(info.value)
    assert message.startswith("geo.api.gouv.fr ne répond pas : connexion impossible")
    assert "hors ligne ? les fichiers déjà téléchargés restent utilisables" in message
    assert isinstance(info.value, TerritoryError)
    assert (waits, len(responses.calls), info.value.status) == ([], 1, None)
    assert _cache_files(settings) == []


@responses.activate
def test_offline_still_serves_what_was_downloaded(settings: Settings) -> None:
    responses.get(URL, body=BODY)
    _http.get(URL, settings=settings)
    responses.replace(responses.GET, URL, body=requests.ConnectionError("offline"))
    assert _http.get(URL, settings=settings) == BODY


@responses.activate
def test_read_timeouts_are_retried(settings: Settings, waits: list[float]) -> None:
    responses.get(URL, body=requests.ReadTimeout("slow"))
    responses.get(URL, body=BODY)
    assert _http.get(URL, settings=settings) == BODY
    assert waits == [_http.BACKOFF_S]


@pytest.mark.parametrize(
    ("status", "message"),
    [(404, "ressource introuvable"), (401, "jeton d'accès"), (400, "a refusé la requête")],
)
@responses.activate
def test_client_errors_are_not_retried_nor_cached(
    settings: Settings, waits: list[float], status: int, message: str
) -> None:
    responses.get(URL, status=status)
    with pytest.raises(NetworkError, match=message) as info:
        _http.get(URL, settings=settings)
    assert (info.value.status, len(responses.calls), waits) == (status, 1, [])
    assert _cache_files(settings) == []


@responses.activate
def test_checksum_is_checked_before_caching(settings: Settings) -> None:
    url = "https://static.data.gouv.fr/resources/qpv/qp.zip"
    responses.get(url, body=b"zip bytes")
    good = ("sha256", hashlib.sha256(b"zip bytes").hexdigest())
    with pytest.raises(NetworkError, match="différent de celui attendu"):
        _http.get_file(url, settings=settings, checksum=("sha1", "0" * 40))
    assert _cache_files(settings) == []
    path = _http.get_file(url, settings=settings, checksum=good)
    assert path.suffix == ".zip" and path.read_bytes() == b"zip bytes"


@responses.activate
def test_undecodable_json_is_an_error_and_leaves_the_cache(settings: Settings) -> None:
    responses.get(URL, body=b"<html>portail captif</html>")
    with pytest.raises(NetworkError, match="réponse illisible"):
        _http.get_json(URL, settings=settings)
    assert _cache_files(settings) == []
    responses.replace(responses.GET, URL, body=BODY)
    assert _http.get_json(URL, settings=settings)["type"] == "FeatureCollection"


@responses.activate
def test_without_cache_nothing_is_written(settings: Settings) -> None:
    responses.get(URL, body=BODY)
    assert _http.get(URL, settings=settings, cache=False) == BODY
    assert _http.get(URL, settings=settings, cache=False) == BODY
    assert len(responses.calls) == 2
    assert _cache_files(settings) == []


def test_retry_after_parsing() -> None:
    assert _http._retry_after("12") == 12.0
    assert _http._retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert _http._retry_after("bientôt") is None
    assert _http._retry_after(None) is None
