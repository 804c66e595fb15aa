"""All HTTP of the package: one on-disk cache, retries, typed errors with French messages.

Modelled on osmnx's ``_http.py``. A response is stored in ``settings.cache_dir`` under
the sha256 of its full URL (query string included), plus the URL's file suffix so that
the cached file can be opened by the importers as it is. Only complete ``200``
responses are stored (written to a temporary file, then renamed), so a failed or
truncated download never poisons the cache; a file already downloaded is used without
touching the network, which is what keeps the tool usable offline.

Uploads (:func:`post_csv`, the BAN batch geocoder) are cached the same way under the
sha256 of their URL, form fields and body.

``429`` and ``5xx`` answers are retried a few times with exponential backoff, honouring
``Retry-After``; a refused connection (offline, DNS failure) is not retried, it fails
at once with a message that says so.

Examples
--------
>>> from territory import Settings
>>> cache_path("https://geo.api.gouv.fr/communes?code=14118", settings=Settings()).name[:12]
'beaa5d87de60'
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import io
import json
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any
from urllib.parse import urlsplit

import requests

from territory._errors import NetworkError
from territory.settings import Settings

MAX_ATTEMPTS = 4
"""Attempts per request (the first one included) on ``429``, ``5xx`` and read timeouts."""
BACKOFF_S = 2.0
"""First wait between attempts, doubled at each retry when the server gives no ``Retry-After``."""
MAX_WAIT_S = 120.0
"""Longest ``Retry-After`` honoured; a longer one fails at once with the delay in the message."""
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_KEPT_SUFFIXES = frozenset({".json", ".geojson", ".csv", ".zip", ".xlsx", ".xls", ".txt"})
_OFFLINE_HINT = "hors ligne ? les fichiers déjà téléchargés restent utilisables"


def _sleep(seconds: float) -> None:
    """Wait between attempts (a separate function so that tests can patch it)."""
    time.sleep(seconds)


def full_url(url: str, params: Mapping[str, Any] | None = None) -> str:
    """The URL with its query string, exactly as it is requested (and cached)."""
    prepared = requests.Request("GET", url, params=dict(params or {})).prepare()
    return str(prepared.url)


def cache_path(url: str, params: Mapping[str, Any] | None = None, *, settings: Settings) -> Path:
    """Where the response to ``url`` + ``params`` is (or would be) cached."""
    target = full_url(url, params)
    suffix = PurePosixPath(urlsplit(target).path).suffix.lower()
    name = hashlib.sha256(target.encode("utf-8")).hexdigest()
    return Path(settings.cache_dir) / (name + (suffix if suffix in _KEPT_SUFFIXES else ""))


def get_file(
    url: str,
    *,
    settings: Settings,
    params: Mapping[str, Any] | None = None,
    accept: str | None = None,
    headers: Mapping[str, str] | None = None,
    checksum: tuple[str, str] | None = None,
) -> Path:
    """Download ``url`` into the cache (once) and return the cached file.

    Parameters
    ----------
    url, params
        What to request; together they name the cache file.
    settings
        Gives ``cache_dir``, ``http_timeout_s`` and ``user_agent``.
    accept
        ``Accept`` header, e.g. ``application/geo+json``.
    headers
        Extra headers (e.g. ``Authorization``); they are not part of the cache key.
    checksum
        ``(algorithm, hex digest)`` the body must have (``("sha256", "…")``); checked
        before the file enters the cache.

    Raises
    ------
    NetworkError
        Offline, timeout, HTTP error after the retries, or checksum mismatch.
    """
    path = cache_path(url, params, settings=settings)
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    target = full_url(url, params)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".part-")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            _download(target, out, settings=settings, accept=accept, headers=headers)
        if checksum is not None:
            _check_checksum(tmp, checksum, target)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def get(
    url: str,
    *,
    settings: Settings,
    params: Mapping[str, Any] | None = None,
    accept: str | None = None,
    cache: bool = True,
    headers: Mapping[str, str] | None = None,
) -> bytes:
    """The body of ``url`` (from the cache when ``cache`` and already downloaded).

    With ``cache=False`` the network is always used and nothing is written to disk.
    See :func:`get_file` for the parameters and errors.
    """
    if cache:
        path = get_file(url, settings=settings, params=params, accept=accept, headers=headers)
        return path.read_bytes()
    buffer = io.BytesIO()
    _download(full_url(url, params), buffer, settings=settings, accept=accept, headers=headers)
    return buffer.getvalue()


def get_json(
    url: str,
    *,
    settings: Settings,
    params: Mapping[str, Any] | None = None,
    cache: bool = True,
    headers: Mapping[str, str] | None = None,
) -> Any:
    """``url`` decoded as JSON; an undecodable cached answer is removed from the cache."""
    body = get(
        url,
        settings=settings,
        params=params,
        accept="application/json",
        cache=cache,
        headers=headers,
    )
    try:
        return json.loads(body)
    except ValueError as exc:
        cache_path(url, params, settings=settings).unlink(missing_ok=True)
        raise NetworkError(
            f"{_host(url)} a renvoyé une réponse illisible (JSON attendu) : "
            f"{full_url(url, params)}",
            host=_host(url),
        ) from exc


def post_cache_path(
    url: str, *, settings: Settings, csv_bytes: bytes, fields: Mapping[str, str]
) -> Path:
    """Where the answer to a :func:`post_csv` upload is (or would be) cached.

    The key is the sha256 of the URL, the form fields (sorted) and the uploaded bytes,
    so the same batch sent again is answered from the cache.
    """
    digest = hashlib.sha256(url.encode("utf-8"))
    digest.update(b"\n" + json.dumps(sorted(fields.items()), ensure_ascii=False).encode("utf-8"))
    digest.update(b"\n" + csv_bytes)
    return Path(settings.cache_dir) / (digest.hexdigest() + ".csv")


def post_csv(
    url: str,
    *,
    settings: Settings,
    csv_bytes: bytes,
    fields: Mapping[str, str],
    filename: str = "data.csv",
    cache: bool = True,
) -> bytes:
    """Upload ``csv_bytes`` as the multipart file ``data`` with form ``fields``; the answer.

    Same retries, timeout and errors as :func:`get_file`. With ``cache`` a ``200``
    answer is stored under :func:`post_cache_path` and reused without any request.

    Parameters
    ----------
    url
        Endpoint, e.g. ``https://api-adresse.data.gouv.fr/search/csv/``.
    settings
        Gives ``cache_dir``, ``http_timeout_s`` and ``user_agent``.
    csv_bytes
        The CSV file sent as the multipart part ``data``.
    fields
        Other form fields (e.g. ``{"columns": "adresse", "citycode": "code_insee"}``).
    filename
        File name announced for the ``data`` part.
    cache
        Read and write the on-disk cache.

    Returns
    -------
    bytes
        The body of the answer.

    Raises
    ------
    NetworkError
        Offline, timeout, or HTTP error after the retries.
    """
    upload = _Upload(fields=dict(fields), files={"data": (filename, csv_bytes, "text/csv")})
    if not cache:
        buffer = io.BytesIO()
        _download(url, buffer, settings=settings, accept="text/csv", headers=None, upload=upload)
        return buffer.getvalue()
    path = post_cache_path(url, settings=settings, csv_bytes=csv_bytes, fields=fields)
    if path.is_file():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".part-")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            _download(url, out, settings=settings, accept="text/csv", headers=None, upload=upload)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_bytes()


# --------------------------------------------------------------------------- private
@dataclass(frozen=True)
class _Upload:
    """Form fields and multipart files of a POST request."""

    fields: dict[str, str]
    files: dict[str, tuple[str, bytes, str]]


def _download(
    url: str,
    out: IO[bytes],
    *,
    settings: Settings,
    accept: str | None,
    headers: Mapping[str, str] | None,
    upload: _Upload | None = None,
) -> None:
    """Stream ``url`` into ``out`` (``.write(bytes)``), retrying 429/5xx; raise NetworkError.

    With ``upload`` the request is a multipart POST of its fields and files.
    """
    host = _host(url)
    sent = {"User-Agent": settings.user_agent, **({"Accept": accept} if accept else {})}
    sent.update(headers or {})
    status: int | None = None
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            with (
                requests.get(url, headers=sent, timeout=settings.http_timeout_s, stream=True)
                if upload is None
                else requests.post(
                    url,
                    data=upload.fields,
                    files=upload.files,
                    headers=sent,
                    timeout=settings.http_timeout_s,
                    stream=True,
                )
            ) as response:
                status = response.status_code
                if status == 200:
                    for chunk in response.iter_content(chunk_size=1 << 16):
                        out.write(chunk)
                    return
                wait = _retry_after(response.headers.get("Retry-After"))
        except requests.ConnectionError as exc:  # includes ConnectTimeout
            raise NetworkError(
                f"{host} ne répond pas : connexion impossible ({_OFFLINE_HINT})", host=host
            ) from exc
        except requests.Timeout as exc:  # read timeout: the server is slow, try again
            if attempt == MAX_ATTEMPTS:
                raise NetworkError(
                    f"{host} ne répond pas : délai de {settings.http_timeout_s:g} s dépassé "
                    f"{MAX_ATTEMPTS} fois ({_OFFLINE_HINT})",
                    host=host,
                ) from exc
            wait = None
        except requests.RequestException as exc:  # truncated body, invalid URL…
            raise NetworkError(f"{host} : téléchargement interrompu ({exc})", host=host) from exc
        if status is not None and status not in _RETRY_STATUSES:
            raise NetworkError(_status_message(host, status, url), host=host, status=status)
        if attempt == MAX_ATTEMPTS:
            break
        delay = BACKOFF_S * 2 ** (attempt - 1) if wait is None else wait
        if delay > MAX_WAIT_S:
            raise NetworkError(
                f"{host} limite le nombre de requêtes (HTTP {status}) : réessayez dans "
                f"{delay:.0f} s",
                host=host,
                status=status,
            )
        _sleep(delay)
    raise NetworkError(
        f"{host} ne répond pas correctement : HTTP {status} après {MAX_ATTEMPTS} tentatives "
        f"({_OFFLINE_HINT})",
        host=host,
        status=status,
    )


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or HTTP date), or None."""
    if not value:
        return None
    with contextlib.suppress(ValueError):
        return max(0.0, float(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _status_message(host: str, status: int, url: str) -> str:
    if status == 404:
        return f"{host} : ressource introuvable (HTTP 404) : {url}"
    if status in (401, 403):
        return f"{host} : accès refusé (HTTP {status}) : un jeton d'accès est sans doute requis"
    return f"{host} a refusé la requête (HTTP {status}) : {url}"


def _check_checksum(path: Path, checksum: tuple[str, str], url: str) -> None:
    algorithm, expected = checksum
    try:
        digest = hashlib.new(algorithm.lower().replace("-", ""))
    except ValueError:
        return  # an algorithm we do not know cannot be checked
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest().lower() != expected.strip().lower():
        raise NetworkError(
            f"{_host(url)} : fichier téléchargé différent de celui attendu (empreinte "
            f"{algorithm} {digest.hexdigest()[:12]}… au lieu de {expected[:12]}…) : {url}",
            host=_host(url),
        )


def _host(url: str) -> str:
    return urlsplit(url).hostname or url
