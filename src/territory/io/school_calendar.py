"""The Ministry of Education's school calendar (open data), checked against the shipped table.

:mod:`territory.calendar` ships the school holidays of mainland France for two school
years (:data:`territory.calendar.SCHOOL_HOLIDAYS`). ``territory calendrier`` downloads
the official data set ``fr-en-calendrier-scolaire`` (:data:`API_URL`, through the one
HTTP cache) and lists every difference with the shipped table, so that a new arrêté or
a correction is seen; offline it says so and the shipped table stays in use.

A record of the data set has ``description`` (« Vacances de Noël »), ``zones``
(« Zone B »), ``location`` (the académie), ``population`` (« - », « Élèves »,
« Enseignants »), ``annee_scolaire`` and ``start_date`` / ``end_date`` (ISO moments in
UTC: the evening before the first day without class, and the day classes resume, at
midnight in Paris). Only the mainland zones A, B, C are read, and the periods of pupils
(population « - » or « Élèves »).

Examples
--------
>>> rec = {"description": "Vacances de Noël", "zones": "Zone B", "population": "-",
...        "start_date": "2026-12-18T23:00:00+00:00", "end_date": "2027-01-03T23:00:00+00:00"}
>>> official_periods([rec])
[('vacances de Noël', 'B', datetime.date(2026, 12, 19), datetime.date(2027, 1, 4))]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from territory.calendar import KNOWN_FROM, KNOWN_UNTIL, SCHOOL_HOLIDAYS
from territory.io import _http
from territory.settings import Settings

__all__ = ["API_URL", "check_school_calendar", "differences", "official_periods"]

API_URL = (
    "https://data.education.gouv.fr/api/explore/v2.1/catalog/datasets/"
    "fr-en-calendrier-scolaire/exports/json"
)
"""The official data set, every record as JSON (Opendatasoft export API)."""
_PARIS = ZoneInfo("Europe/Paris")
_PUPILS = {"-", "", "élèves", "eleves"}

Period = tuple[str, str, date, date]
"""``(name, zone, first day without class, day classes resume)``."""


def _local_day(moment: str) -> date:
    parsed = datetime.fromisoformat(moment)  # Python ≥ 3.11 reads "Z" too
    if parsed.tzinfo is None:
        return parsed.date()
    return parsed.astimezone(_PARIS).date()


def _name(description: str) -> str:
    text = " ".join(description.split())
    return text[:1].lower() + text[1:] if text[:1].isupper() and text[1:2].islower() else text


def official_periods(records: Iterable[Mapping[str, Any]]) -> list[Period]:
    """The pupils' holidays of zones A, B and C in ``records`` (data set rows), sorted."""
    out: set[Period] = set()
    for rec in records:
        zone = str(rec.get("zones") or "").strip()
        if not zone.startswith("Zone ") or zone[5:] not in ("A", "B", "C"):
            continue
        if str(rec.get("population") or "-").strip().lower() not in _PUPILS:
            continue
        start, end = rec.get("start_date"), rec.get("end_date")
        if not start or not end:
            continue
        out.add(
            (_name(str(rec.get("description") or "")), zone[5:], _local_day(start), _local_day(end))
        )
    return sorted(out, key=lambda p: (p[2], p[1], p[0]))


def differences(official: list[Period]) -> list[str]:
    """French lines: the periods of the shipped table's school years that differ."""
    shipped = {
        (name.lower(), zone, first, resume)
        for name, zones, first, resume in SCHOOL_HOLIDAYS
        for zone in zones
    }
    inside = {
        (name.lower(), zone, first, resume)
        for name, zone, first, resume in official
        if KNOWN_FROM <= first <= KNOWN_UNTIL
    }
    lines = [
        f"officiel, absent du tableau : {n} zone {z}, du {f:%d/%m/%Y} au {r:%d/%m/%Y}"
        for n, z, f, r in sorted(inside - shipped, key=lambda p: (p[2], p[1]))
    ]
    lines += [
        f"dans le tableau, absent des données officielles : {n} zone {z}, "
        f"du {f:%d/%m/%Y} au {r:%d/%m/%Y}"
        for n, z, f, r in sorted(shipped - inside, key=lambda p: (p[2], p[1]))
    ]
    return lines


def check_school_calendar(*, settings: Settings) -> tuple[list[Period], list[str]]:
    """Download the official calendar (cached) and compare it with the shipped table.

    Raises :class:`territory.NetworkError` offline (with a French message), when the
    answer has not been cached before.
    """
    records = _http.get_json(API_URL, settings=settings)
    if isinstance(records, Mapping):  # the records API wraps them
        records = records.get("results", [])
    official = official_periods(r for r in records if isinstance(r, Mapping))
    return official, differences(official)
