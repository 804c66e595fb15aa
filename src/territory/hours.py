"""Opening hours in the OSM ``opening_hours`` syntax: check, read at a time, render in French.

The one place that parses opening hours (partners' ``horaires``, teams' availability, places'
hours), with the ``opening-hours-py`` library.

Examples
--------
>>> format_hours_fr("Mo-Fr 08:30-12:30,13:30-17:00; PH off")
'lun.–ven. 8h30–12h30, 13h30–17h ; fermé les jours fériés'
>>> is_open("Mo-Fr 08:30-12:30", datetime(2024, 7, 15, 9, 0))
True
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import opening_hours

from territory._errors import ValidationError
from territory._fr import MONTHS_SHORT_FR
from territory.vocab import WEEKDAYS

__all__ = [
    "format_hours_fr",
    "hours_known",
    "hours_on_fr",
    "is_open",
    "normalize_hours",
    "open_during",
    "read_hours",
    "read_hours_fr",
    "unknown_hours",
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
_MONTH_TOKEN = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_RULE = re.compile(
    rf"^(?P<months>{_MONTH_TOKEN}(?:[-,]{_MONTH_TOKEN})*)?\s*"
    rf"(?P<days>{_DAY_TOKEN}(?:[-,]{_DAY_TOKEN})*)?\s*"
    rf"(?P<times>{_TIME_RANGE}(?:,{_TIME_RANGE})*)?\s*"
    r"(?P<state>open|closed|off|unknown)?\s*"
    r'(?:"(?P<comment>[^"]*)")?$'
)
_DAY_FR = {osm: fr for _, osm, fr in WEEKDAYS} | {"PH": "jours fériés"}
_MONTH_FR = dict(
    zip(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
        MONTHS_SHORT_FR,
        strict=True,
    )
)


def format_hours_fr(osm: str) -> str:
    """Short French rendering of OSM opening hours, for popups and tables.

    Common forms (weekday selectors, time ranges, ``PH off``, ``closed``, comments) are
    translated rule by rule; anything else comes back as the raw string.

    Examples
    --------
    >>> format_hours_fr("Mo-Tu,Th-Fr 09:00-12:00; We 14:00-17:00")
    'lun.–mar., jeu.–ven. 9h–12h ; mer. 14h–17h'
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
    canonical = canonical.removeprefix("24/7 ")  # « 24/7 unknown "sur rendez-vous" »
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
    months, days, times, state, comment = match.group("months", "days", "times", "state", "comment")
    if days == "PH" and state in ("closed", "off") and not times and not months:
        return "fermé les jours fériés"
    words: list[str] = []
    if months:
        spans = ", ".join(
            "–".join(_MONTH_FR[m] for m in run.split("-")) for run in months.split(",")
        )
        words.append(f"en {spans} :")
    if days:
        words.append(
            ", ".join("–".join(_DAY_FR[d] for d in run.split("-")) for run in days.split(","))
        )
    elif times and not months:
        words.append("tous les jours")
    if times:
        words.append(", ".join("–".join(map(_time_fr, t.split("-"))) for t in times.split(",")))
    elif state in ("closed", "off"):
        words.append("fermé")
    elif state != "unknown" and not comment:
        words.append("24 h/24")
    if comment:
        words.append(f"({comment})" if times or state in ("closed", "off") else comment)
    return " ".join(words) if words else None


def hours_on_fr(osm: str, day: date) -> str:
    """The French opening hours of one day (« 8h30–12h30, 13h30–17h », « fermé »).

    Read on the actual date (a public holiday closes with ``PH off``).

    Examples
    --------
    >>> hours_on_fr("Mo-Fr 08:30-12:30,13:30-17:00", date(2026, 12, 7))
    '8h30–12h30, 13h30–17h'
    >>> hours_on_fr("Mo-Fr 08:30-12:30", date(2026, 12, 6)), hours_on_fr("", date(2026, 12, 6))
    ('fermé', 'horaires non renseignés')
    """
    windows = windows_from_opening_hours(osm, week=day - timedelta(days=day.weekday()))
    if windows is None:
        return "horaires non renseignés" if not osm.strip() else format_hours_fr(osm)
    spans = windows.get(day.weekday(), ())
    if not spans:
        return "fermé"
    return ", ".join(f"{_time_fr(_hhmm(a))}–{_time_fr(_hhmm(b))}" for a, b in spans)


def _time_fr(hhmm: str) -> str:
    """``08:30`` → ``8h30``, ``12:00`` → ``12h``."""
    hours, _, minutes = hhmm.partition(":")
    return f"{int(hours)}h{'' if minutes in ('', '00') else minutes}"


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
    found = _windows(osm, monday, step)
    return None if found is None else dict(found)


@lru_cache(maxsize=4096)
def _windows(osm: str, monday: date, step: int) -> Windows | None:
    """:func:`windows_from_opening_hours` of one week, once per distinct text (a copy is given).

    Many places share their hours (a network's partners, generated places): sampling
    every quarter of an hour of the week is the planner's costliest reading otherwise.
    """
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


# --------------------------------------------------------------------------- French free text

_UNKNOWN_MAX = 200  # characters of an unread text kept as the comment of ``unknown``


def unknown_hours(text: str) -> str:
    """OSM hours that keep an unread text as a comment: never open, shown as written.

    Examples
    --------
    >>> print(unknown_hours('sur rendez-vous "urgent"'))
    unknown "sur rendez-vous 'urgent'"
    """
    comment = " ".join(text.replace('"', "'").split())[:_UNKNOWN_MAX]
    return f'unknown "{comment}"' if comment else ""


def hours_known(osm: str) -> bool:
    """Whether hours say when a place is open or closed (readable, not only ``unknown``).

    Examples
    --------
    >>> hours_known("Mo-Fr 09:00-12:00"), hours_known('unknown "sur rendez-vous"')
    (True, False)
    """
    parsed = _parsed(osm.strip(), "FR") if osm and osm.strip() else None
    if parsed is None:
        return False
    start = datetime.combine(_REFERENCE_MONDAY, datetime.min.time())
    states = {
        str(state).rsplit(".", 1)[-1].upper()
        for _, _, state, _ in parsed.intervals(start, start + timedelta(days=7))
    }
    return bool(states - {"UNKNOWN"})


def read_hours(text: str) -> tuple[str, str]:
    """Hours as files write them, in OSM syntax, and how they were read.

    Returns
    -------
    tuple of str
        ``(osm, how)``: ``how`` is ``""`` for an empty cell, ``"osm"`` for OSM syntax,
        ``"fr"`` for French free text read by :func:`read_hours_fr`, and ``"texte"`` when
        the text could not be read without guessing: it is kept whole as the comment of
        ``unknown`` (never open, shown as written).

    Examples
    --------
    >>> read_hours("du lundi au vendredi de 9h à 12h")
    ('Mo-Fr 09:00-12:00', 'fr')
    >>> read_hours("sur rendez-vous")
    ('unknown "sur rendez-vous"', 'texte')
    """
    cleaned = " ".join(str(text or "").split())
    if not cleaned:
        return "", ""
    try:
        return normalize_hours(cleaned), "osm"
    except ValidationError:
        pass
    french = read_hours_fr(cleaned)
    if french is not None:
        return french, "fr"
    return unknown_hours(cleaned), "texte"


_FR_TOKENS = re.compile(
    r"""
    (?P<all>(?:tous\ les\ jours|7\ ?j(?:ours)?\ ?(?:/|sur)\ ?7|7/7|toute\ la\ semaine)(?![a-z]))
  | (?P<allday>24\ ?h\ ?(?:/|sur)\ ?24)
  | (?P<weekdays>(?:en\ semaine|jours\ ouvres)(?![a-z]))
  | (?P<ph>(?:les\ )?(?:jours\ )?feries(?![a-z]))
  | (?P<time>\d{1,2}\ ?h\ ?\d{2}|\d{1,2}\ ?h(?![a-z])|\d{1,2}:\d{2}|(?:midi|minuit)(?![a-z]))
  | (?P<num>\d{1,2}(?![\d:]))
  | (?P<day>(?:(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)s?
             |lun|mar|mer|jeu|ven|sam|dim|lu|ma|me|je|ve|sa|di)(?![a-z])\.?)
  | (?P<closed>(?:fermee?s?|fermeture)(?![a-z]))
  | (?P<sauf>(?:sauf|hors)(?![a-z]))
  | (?P<to>(?:jusqu'a|au|a)(?![a-z])|-)
  | (?P<and>et(?![a-z])|[,/+&])
  | (?P<sep>[;.|])
  | (?P<skip>(?:de|du|des|le|les|la|ouverte?s?|ouverture|horaires?|accueil|public)(?![a-z])
             |d'|l'|:|\s+)
    """,
    re.VERBOSE,
)
_DAY_PREFIX = {name[:2]: index for index, (name, _, _) in enumerate(WEEKDAYS)}
_DAY_PREFIX["di"] = 6
_DAY_PREFIX["je"] = 3
_DAY_PREFIX["ve"] = 4
_DAY_PREFIX["sa"] = 5
_PH = 7  # the public-holiday "day" of a selector
Token = tuple[str, object]


def read_hours_fr(text: str) -> str | None:
    """OSM opening hours from French free text, or None when it cannot be read without guessing.

    Days (« du lundi au vendredi », « lun.-ven. », « mardi et jeudi », « tous les jours »,
    « sauf le mercredi », « jours fériés ») and times (« 9h », « 9h30 », « 17 h 30 »,
    « 09:00 », « midi », « de 9 à 12h ») are paired in the order written, days first or
    times first; « fermé » closes the days it goes with. A text with times but no days,
    days but no times, or any other word (« matin », « sur rendez-vous », « vacances »)
    is not read: None.

    Examples
    --------
    >>> read_hours_fr("Du lundi au vendredi de 9h à 12h et de 14h à 17h30, samedi 9h-12h")
    'Mo-Fr 09:00-12:00,14:00-17:30; Sa 09:00-12:00'
    >>> read_hours_fr("lun.-ven. : 8h30-12h / 13h30-17h ; fermé les jours fériés")
    'Mo-Fr 08:30-12:00,13:30-17:00; PH closed'
    >>> read_hours_fr("9h-12h") is None
    True
    """
    tokens = _tokens_fr(text)
    if not tokens:
        return None
    rules: list[str] = []
    for segment in _split(tokens, "sep"):
        items = _items(segment)
        if items is None or len(items) % 2:
            return None
        first_kind = items[0][0]
        for days_item, what in (
            (items[i], items[i + 1]) if first_kind == "days" else (items[i + 1], items[i])
            for i in range(0, len(items), 2)
        ):
            if days_item[0] != "days" or what[0] == "days":
                return None
            selector = _selector(days_item[1])  # type: ignore[arg-type]
            rules.append(f"{selector} {what[1]}")
    if all(rule.endswith(" off") for rule in rules):
        return None  # « fermé le samedi » says nothing of the other days
    try:
        return normalize_hours("; ".join(rules))
    except ValidationError:
        return None


def _tokens_fr(text: str) -> list[Token] | None:
    """``(kind, value)`` tokens of a French hours text; None when a word is not understood."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    plain = plain.replace("\u2019", "'").replace("\u2013", "-").replace("\u2014", "-")
    plain = " ".join(plain.split())
    tokens: list[Token] = []
    position = 0
    while position < len(plain):
        match = _FR_TOKENS.match(plain, position)
        if match is None or match.end() == position:
            return None
        position = match.end()
        kind = match.lastgroup or ""
        word = match.group()
        if kind == "skip":
            continue
        value: object = word
        if kind == "time":
            value = _minutes_fr(word)
        elif kind == "num":
            value = int(word) * 60
        elif kind == "day":
            value = _DAY_PREFIX[word[:2]]
        tokens.append((kind, value))
    return tokens


def _minutes_fr(word: str) -> int:
    if word == "midi":
        return 12 * 60
    if word == "minuit":
        return DAY_MINUTES
    hours, _, minutes = re.sub(r"\s", "", word).replace(":", "h").partition("h")
    return int(hours) * 60 + int(minutes or 0)


def _split(tokens: list[Token], kind: str) -> list[list[Token]]:
    parts: list[list[Token]] = [[]]
    for token in tokens:
        if token[0] == kind:
            parts.append([])
        else:
            parts[-1].append(token)
    return [p for p in parts if p]


def _items(tokens: list[Token]) -> list[tuple[str, object]] | None:
    """The segment as ``("days", set)`` and ``("times", osm)`` items, in order; None if unread."""
    items: list[tuple[str, object]] = []
    i = 0
    while i < len(tokens):
        kind = tokens[i][0]
        if kind in ("day", "all", "weekdays", "ph"):
            days, i = _days(tokens, i)
            if days is None:
                return None
            items.append(("days", days))
        elif kind in ("time", "num", "allday"):
            spans, i = _times(tokens, i)
            if spans is None:
                return None
            items.append(("times", ",".join(f"{_hhmm(a)}-{_hhmm(b)}" for a, b in spans)))
        elif kind == "closed":
            items.append(("times", "off"))
            i += 1
        elif kind == "and":  # « samedi fermé, dimanche fermé »
            i += 1
        else:
            return None
    return items


def _days(tokens: list[Token], i: int) -> tuple[set[int] | None, int]:
    """A union of days and day ranges, less « sauf » days, from token ``i``."""
    days: set[int] = set()
    removing = False
    while i < len(tokens):
        kind, value = tokens[i]
        if kind == "all":
            chosen = set(range(7))
        elif kind == "weekdays":
            chosen = set(range(5))
        elif kind == "ph":
            chosen = {_PH}
        elif kind == "day":
            chosen = {int(value)}  # type: ignore[call-overload]
            if i + 2 < len(tokens) and tokens[i + 1][0] == "to" and tokens[i + 2][0] == "day":
                last = int(tokens[i + 2][1])  # type: ignore[call-overload]
                first = int(value)  # type: ignore[call-overload]
                chosen = {(first + k) % 7 for k in range((last - first) % 7 + 1)}
                i += 2
        else:
            return None, i
        days = days - chosen if removing else days | chosen
        i += 1
        if i < len(tokens) and tokens[i][0] in ("and", "sauf"):
            nxt = tokens[i + 1][0] if i + 1 < len(tokens) else ""
            if nxt in ("day", "all", "weekdays", "ph"):
                removing = removing or tokens[i][0] == "sauf"
                i += 1
                continue
            if tokens[i][0] == "sauf":
                return None, i
        break
    return (days or None), i


def _times(tokens: list[Token], i: int) -> tuple[list[tuple[int, int]] | None, int]:
    """Time ranges joined by « et », « / » or commas, from token ``i``."""
    spans: list[tuple[int, int]] = []
    while i < len(tokens):
        kind, value = tokens[i]
        if kind == "allday":
            spans.append((0, DAY_MINUTES))
            i += 1
        elif (
            kind in ("time", "num")
            and i + 2 < len(tokens)
            and tokens[i + 1][0] == "to"
            and tokens[i + 2][0] == "time"
        ):
            start, end = int(value), int(tokens[i + 2][1])  # type: ignore[call-overload]
            end = DAY_MINUTES if end == 0 else end
            if not 0 <= start < end <= DAY_MINUTES:
                return None, i
            spans.append((start, end))
            i += 3
        else:
            return None, i
        if (
            i + 1 < len(tokens)
            and tokens[i][0] == "and"
            and tokens[i + 1][0] in ("time", "num", "allday")
        ):
            i += 1
            continue
        break
    spans.sort()
    if any(a[1] > b[0] for a, b in itertools.pairwise(spans)):
        return None, i  # overlapping ranges: a typo, not hours
    return spans, i


def _selector(days: set[int]) -> str:
    """OSM weekday selector (``Mo-Fr,Su``, ``PH``) of a set of days."""
    names = [osm for _, osm, _ in WEEKDAYS]
    runs: list[list[int]] = []
    for day in sorted(d for d in days if d != _PH):
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = [names[r[0]] if len(r) == 1 else f"{names[r[0]]}-{names[r[-1]]}" for r in runs]
    if _PH in days:
        parts.append("PH")
    return ",".join(parts)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
