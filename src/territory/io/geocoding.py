"""Batch geocoding of addresses with the Base Adresse Nationale (BAN).

One ``POST`` to the BAN CSV endpoint geocodes up to :data:`CHUNK_ROWS` addresses: the
uploaded CSV holds an ``id`` column, the address and the INSEE code (``citycode``
filter), and the BAN answers the same rows with ``latitude, longitude, result_label,
result_score, result_type, result_id, …, result_citycode, …, result_status`` appended.
Answers go through :mod:`territory.io._http`, so a batch already geocoded is answered from
the on-disk cache (``cache=False`` for people's addresses: nothing is written to disk),
and an unreachable BAN raises :class:`~territory.NetworkError`. Addresses can also be
geocoded without any network against an imported BAN: :mod:`territory.io.addresses`.

Examples
--------
>>> import pandas as pd
>>> from territory import Settings
>>> found, notes = geocode_addresses(
...     pd.DataFrame({"adresse": [""], "code_insee": ["14118"]}), settings=Settings()
... )
>>> found.loc[0, "reason"]
'adresse vide'
"""

from __future__ import annotations

import io
import math

import pandas as pd

from territory._errors import NetworkError
from territory._fr import format_number
from territory.io import _http
from territory.settings import Settings

BAN_CSV_URL = "https://api-adresse.data.gouv.fr/search/csv/"
"""BAN batch endpoint (multipart ``POST``, CSV in and out)."""
CHUNK_ROWS = 5_000
"""Most rows sent in one request (larger frames are sent in several batches)."""
RESULT_COLUMNS: tuple[str, ...] = ("longitude", "latitude", "score", "label", "reason")
"""Columns of the frame returned by :func:`geocode_addresses`."""
BAN_ATTRIBUTION = "Base Adresse Nationale (api-adresse.data.gouv.fr, Licence Ouverte 2.0)"

REASON_EMPTY = "adresse vide"
REASON_NOT_FOUND = "adresse introuvable dans la BAN"
_ID = "id"
_HOST = "api-adresse.data.gouv.fr"


def geocode_addresses(
    frame: pd.DataFrame,
    *,
    settings: Settings,
    address: str = "adresse",
    citycode: str = "code_insee",
    min_score: float = 0.5,
    cache: bool = True,
) -> tuple[pd.DataFrame, list[str]]:
    """Geocode the addresses of ``frame`` with the BAN, in batches of :data:`CHUNK_ROWS`.

    Parameters
    ----------
    frame
        One address per row; its index is kept in the result.
    settings
        Network settings (cache folder, timeout, user agent).
    address
        Column holding the address (street and number, possibly the town).
    citycode
        Column holding the INSEE code of the commune, sent as the BAN ``citycode``
        filter (an empty code does not filter).
    min_score
        Lowest BAN score (0 to 1) accepted; a result below it is not used.
    cache
        Read and write the on-disk cache of :mod:`territory.io._http`. ``False`` for
        people's addresses (contacts): nothing of the request or the answer is written
        to disk (privacy v2).

    Returns
    -------
    tuple of DataFrame and list of str
        For every input row (same index), the columns of :data:`RESULT_COLUMNS`:
        ``longitude``/``latitude`` of an accepted result (NaN otherwise), the BAN
        ``score`` and ``label`` of the best result (NaN/empty when none), and
        ``reason``, the French reason why the row stays ungeocoded (``None`` when
        geocoded); then French notes for the import report.

    Raises
    ------
    NetworkError
        The BAN cannot be reached or gives an unreadable answer.
    KeyError
        ``address`` or ``citycode`` is not a column of ``frame``.
    """
    texts = frame[address].fillna("").astype(str).str.strip().to_numpy()
    codes = frame[citycode].fillna("").astype(str).str.strip().to_numpy()
    positions = [i for i, text in enumerate(texts) if text]
    batch = pd.DataFrame(
        {
            _ID: range(len(positions)),
            address: texts[positions],
            citycode: codes[positions],
        }
    )
    hits: dict[int, tuple[float, float, float, str]] = {}
    for start in range(0, len(batch), CHUNK_ROWS):
        chunk = batch.iloc[start : start + CHUNK_ROWS]
        answer = _ask_ban(chunk, settings=settings, address=address, citycode=citycode, cache=cache)
        hits.update({positions[row_id]: hit for row_id, hit in answer.items()})
    rows: list[tuple[float, float, float, str, str | None]] = []
    for i in range(len(frame)):
        hit = hits.get(i)
        if hit is None:
            rows.append((math.nan, math.nan, math.nan, "", REASON_EMPTY))
            continue
        reason = _reason(hit, min_score)
        rows.append((*hit, reason) if reason is None else (math.nan, math.nan, *hit[2:], reason))
    result = pd.DataFrame(rows, index=frame.index, columns=list(RESULT_COLUMNS))
    result["reason"] = pd.Series([row[4] for row in rows], index=frame.index, dtype=object)
    return result, _notes(result, min_score=min_score)


def format_score(score: float) -> str:
    """A BAN score with a French decimal comma: ``0.8712`` → ``"0,87"``."""
    return format_number(score, decimals=2)


# --------------------------------------------------------------------------- private
def _ask_ban(
    chunk: pd.DataFrame, *, settings: Settings, address: str, citycode: str, cache: bool = True
) -> dict[int, tuple[float, float, float, str]]:
    """Send one batch; ``id`` → (lon, lat, score, label), NaN score when nothing found."""
    body = chunk.to_csv(index=False, lineterminator="\n").encode("utf-8")
    fields = {"columns": address, "citycode": citycode}
    data = _http.post_csv(
        BAN_CSV_URL, settings=settings, csv_bytes=body, fields=fields, cache=cache
    )
    try:
        return _parse_answer(data, expected=set(chunk[_ID]))
    except (ValueError, KeyError, pd.errors.ParserError) as exc:
        _http.post_cache_path(BAN_CSV_URL, settings=settings, csv_bytes=body, fields=fields).unlink(
            missing_ok=True
        )
        raise NetworkError(
            f"{_HOST} a renvoyé une réponse illisible (CSV géocodé attendu) : {exc}", host=_HOST
        ) from exc


def _parse_answer(data: bytes, *, expected: set[int]) -> dict[int, tuple[float, float, float, str]]:
    """Read the BAN CSV answer (``,`` or ``;`` separated, UTF-8 with or without BOM)."""
    text = data.decode("utf-8-sig")
    header = text.split("\n", 1)[0]
    sep = ";" if header.count(";") > header.count(",") else ","
    table = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    missing = {_ID, "latitude", "longitude", "result_score", "result_label"} - set(table.columns)
    if missing:
        raise ValueError(f"colonnes absentes : {', '.join(sorted(missing))}")
    out: dict[int, tuple[float, float, float, str]] = {}
    for row in table.to_dict("records"):
        row_id = int(row[_ID])
        if row_id not in expected:
            raise ValueError(f"identifiant de ligne inattendu : {row_id}")
        out[row_id] = (
            _float(row["longitude"]),
            _float(row["latitude"]),
            _float(row["result_score"]),
            str(row["result_label"]).strip(),
        )
    if set(out) != expected:
        raise ValueError(f"{len(expected - set(out))} ligne(s) sans réponse")
    return out


def _float(text: str) -> float:
    try:
        return float(str(text).strip().replace(",", "."))
    except ValueError:
        return math.nan


def _reason(hit: tuple[float, float, float, str], min_score: float) -> str | None:
    lon, lat, score, label = hit
    if math.isnan(score) or math.isnan(lon) or math.isnan(lat):
        return REASON_NOT_FOUND
    if score < min_score:
        return (
            f"score BAN trop faible ({format_score(score)} < {format_score(min_score)}) "
            f"pour « {label} »"
        )
    return None


def _notes(result: pd.DataFrame, *, min_score: float) -> list[str]:
    """French summary: how many were geocoded, and why the others were not."""
    geocoded = int(result["reason"].isna().sum())
    notes = [
        (
            f"géocodage BAN : {geocoded} adresse(s) sur {len(result)} géocodée(s) "
            f"(score minimal {format_score(min_score)}) ; source : {BAN_ATTRIBUTION}"
        )
    ]
    reasons = result["reason"].dropna()
    groups = {
        REASON_EMPTY: int((reasons == REASON_EMPTY).sum()),
        REASON_NOT_FOUND: int((reasons == REASON_NOT_FOUND).sum()),
        "score trop faible": int(reasons.str.startswith("score BAN").sum()),
    }
    detail = ", ".join(f"{what} : {n}" for what, n in groups.items() if n)
    if detail:
        notes.append(f"{len(reasons)} adresse(s) non géocodée(s) ({detail})")
    return notes
