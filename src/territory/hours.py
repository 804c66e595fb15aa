"""Opening hours in the OSM ``opening_hours`` syntax: check, read at a time, render in French.

The one place that parses opening hours (partners' ``horaires``, teams' availability, places'
hours), with the ``opening-hours-py`` library.

Examples
--------
>>> format_hours_fr("Mo-Fr 08:30-12:30,13:30-17:00; PH off")
'lun.–ven. 08:30–12:30, 13:30–17:00 ; fermé les jours fériés'
>>> is_open("Mo-Fr 08:30-12:30", datetime(2024, 7, 15, 9, 0))
True
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import opening_hours

from territory._errors import ValidationError
from territory.vocab import WEEKDAYS

__all__ = [
    "format_hours_fr",
    "is_open",
    "normalize_hours",
    "open_during",
    "windows_from_opening_hours",
]

DAY_MINUTES = 24 * 60
_REFERENCE_MONDAY = date(2025, 3, 10)  # a week without public holiday in France
Windows = dict[int, tuple[tuple[int, int], ...]]
"""Minutes after midnight ``(start, end)`` per weekday (0 = Monday)."""

# The library raises ParserError (missing from its type stubs, which say SyntaxError).
_OH_ERRORS: tuple[type[Exception], ...] = (
    getattr(opening_hours, "ParserError", SyntaxError),
    SyntaxError,
    ValueError,
)


def normalize_hours(value: str) -> str:
    """Check an OSM ``opening_hours`` string and return its normalised spelling.

    The shorter of the library's canonical and normalised forms is kept
    (``Mo 09:00-12:00; Tu 09:00-12:00`` becomes ``Mo-Tu 09:00-12:00``).

    Raises
    ------
    ValidationError
        The string is not valid ``opening_hours`` syntax.

    Examples
    --------
    >>> normalize_hours("mo-fr 9:00-12:00 ; PH off")
    'Mo-Fr 09:00-12:00; PH closed'
    """
    text = value.strip()
    if not text:
        return ""
    try:
        parsed = opening_hours.OpeningHours(text)
    except _OH_ERRORS as exc:
        raise ValidationError(
            f"horaires « {text} » illisibles : syntaxe OSM opening_hours attendue, "
            "par ex. « Mo-Fr 08:30-12:30; PH off »"
        ) from exc
    canonical = str(parsed)
    try:
        normalised = str(parsed.normalize())
        opening_hours.OpeningHours(normalised)
    except _OH_ERRORS:
        return canonical
    return normalised if len(normalised) < len(canonical) else canonical


@lru_cache(maxsize=4096)
def _parsed(osm: str, country: str) -> opening_hours.OpeningHours | None:
    try:
        return opening_hours.OpeningHours(osm, country=country or None)
    except _OH_ERRORS:
        return None


def is_open(
    osm: str, when: datetime, *, country: str = "FR", timezone: str = "Europe/Paris"
) -> bool | None:
    """Whether a place with these opening hours is open at ``when``.

    Parameters
    ----------
    osm
        OSM ``opening_hours`` string.
    when
        Local time of the place; an aware datetime is first converted to ``timezone``.
    country
        ISO code whose public holidays ``PH`` refers to.
    timezone
        IANA name of the place's time zone (``Europe/Paris`` in mainland France).

    Returns
    -------
    bool or None
        ``None`` when the hours are empty, invalid or state ``unknown`` at that time.
    """
    if not osm or not osm.strip():
        return None
    parsed = _parsed(osm.strip(), country)
    if parsed is None:
        return None
    if when.tzinfo is not None:
        when = when.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)
    if parsed.is_unknown(when):
        return None
    return bool(parsed.is_open(when))


_DAY_TOKEN = r"(?:Mo|Tu|We|Th|Fr|Sa|Su|PH)"  # school holidays (SH) are left untranslated
_TIME_RANGE = r"\d\d:\d\d-\d\d:\d\d"
_RULE = re.compile(
    rf"^(?P<days>{_DAY_TOKEN}(?:[-,]{_DAY_TOKEN})*)?\s*"
    rf"(?P<times>{_TIME_RANGE}(?:,{_TIME_RANGE})*)?\s*"
    r"(?P<state>open|closed|off|unknown)?\s*"
    r'(?:"(?P<comment>[^"]*)")?$'
)
_DAY_FR = {osm: fr for _, osm, fr in WEEKDAYS} | {"PH": "jours fériés"}


def format_hours_fr(osm: str) -> str:
    """Short French rendering of OSM opening hours, for popups and tables.

    Common forms (weekday selectors, time ranges, ``PH off``, ``closed``, comments) are
    translated rule by rule; anything else comes back as the raw string.

    Examples
    --------
    >>> format_hours_fr("Mo-Tu,Th-Fr 09:00-12:00; We 14:00-17:00")
    'lun.–mar., jeu.–ven. 09:00–12:00 ; mer. 14:00–17:00'
    >>> format_hours_fr("")
    'horaires non renseignés'
    """
    raw = osm.strip()
    if not raw:
        return "horaires non renseignés"
    parsed = _parsed(raw, "")
    if parsed is None:
        return raw
    canonical = str(parsed)
    if canonical == "24/7":
        return "ouvert 24 h/24, 7 j/7"
    if canonical in ("24/7 closed", "24/7 off"):
        return "fermé"
    parts: list[str] = []
    for rule in re.split(r";\s*|,\s+(?=[A-Z])", canonical):
        text = _rule_fr(rule.strip())
        if text is None:
            return raw
        parts.append(text)
    return " ; ".join(parts)


def _rule_fr(rule: str) -> str | None:
    match = _RULE.match(rule)
    if match is None or not rule:
        return None
    days, times, state, comment = match.group("days", "times", "state", "comment")
    if days == "PH" and state in ("closed", "off") and not times:
        return "fermé les jours fériés"
    words: list[str] = []
    if days:
        words.append(
            ", ".join("–".join(_DAY_FR[d] for d in run.split("-")) for run in days.split(","))
        )
    if times:
        words.append(", ".join(t.replace("-", "–") for t in times.split(",")))
    elif state in ("closed", "off"):
        words.append("fermé")
    elif state != "unknown" and not comment:
        words.append("24 h/24")
    if comment:
        words.append(f"({comment})" if times or state in ("closed", "off") else comment)
    return " ".join(words) if words else None


def open_during(osm: str, start: datetime, end: datetime) -> bool | None:
    """Whether a place is open during the **whole** of ``[start, end)`` (local time).

    Returns ``None`` when the hours are empty, invalid or unknown over the slot.
    """
    text = (osm or "").strip()
    if not text:
        return None
    parsed = _parsed(text, "FR")
    if parsed is None:
        return None
    states = {
        str(state).rsplit(".", 1)[-1].upper() for _, _, state, _ in parsed.intervals(start, end)
    }
    if not states or "CLOSED" in states:
        return False
    if "UNKNOWN" in states:
        return None
    return states == {"OPEN"}


def windows_from_opening_hours(
    osm: str, *, week: date | None = None, step: int = 15
) -> Windows | None:
    """Presence windows per weekday from OSM ``opening_hours`` (partners' ``horaires``).

    The hours are read on the actual dates of ``week`` (its Monday), so that ``PH off``
    closes public holidays; without ``week``, on a reference week without holiday. The
    result is sampled every ``step`` minutes.

    Returns
    -------
    dict or None
        ``None`` when the hours are empty, invalid or unknown (no restriction).

    Examples
    --------
    >>> windows_from_opening_hours("Mo-Fr 09:00-12:00,14:00-17:30")[0]
    ((540, 720), (840, 1050))
    >>> windows_from_opening_hours("Mo 09:00-12:00; PH off", week=date(2026, 4, 6))
    {}
    """
    if not osm or not osm.strip():
        return None
    monday = week - timedelta(days=week.weekday()) if week else _REFERENCE_MONDAY
    windows: Windows = {}
    known = False
    for weekday in range(7):
        day = datetime.combine(monday + timedelta(days=weekday), datetime.min.time())
        spans: list[tuple[int, int]] = []
        for minute in range(0, DAY_MINUTES, step):
            state = is_open(osm, day + timedelta(minutes=minute))
            known = known or state is not None
            if state:
                if spans and spans[-1][1] == minute:
                    spans[-1] = (spans[-1][0], minute + step)
                else:
                    spans.append((minute, minute + step))
        if spans:
            windows[weekday] = tuple(spans)
    return windows if known else None
