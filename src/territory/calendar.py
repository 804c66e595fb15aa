"""The French calendar of outreach: public holidays and school holidays by zone A, B, C.

Young people are out at other hours during school holidays (no school day, no
after-school hour, Wednesdays like any day), and partners close on public holidays: the
"when" analysis names both for the chosen week, and the round planner plans no visit on
a public holiday unless a team's availability says so (``PH`` in its hours).

**Public holidays** (Code du travail, art. L3133-1): 1 January, Easter Monday, 1 May,
8 May, Ascension Thursday, Whit Monday, 14 July, 15 August, 1 November, 11 November,
25 December; in Alsace-Moselle (départements 57, 67, 68, art. L3134-13) also Good
Friday and 26 December. Easter is computed (Gregorian computus), so every year is known.

**School holidays** (:data:`SCHOOL_HOLIDAYS`): the official dates of the school years
2025-2026 and 2026-2027 for mainland France, from the Ministry of Education's open data
set « Calendrier scolaire » (``fr-en-calendrier-scolaire``,
https://data.education.gouv.fr/explore/dataset/fr-en-calendrier-scolaire/ ; licence
Ouverte 2.0), itself the arrêtés published in the Journal officiel. Each period is
given as its first day without class and the day classes resume (the data set's
``start_date`` evening and ``end_date``); a week is a school-holiday week when one of
its weekdays falls inside. The 2025-2026 dates were checked against published copies of
the calendar; the 2026-2027 dates are those of the arrêté of the same set, to be checked
again against the Ministry's file when it is updated. Outside these two school years the
module says it does not know (never guesses). Corsica and overseas académies have their
own calendars, not included.

**Zones**: each département belongs to one académie (:data:`ACADEMIES`), each académie
to one zone (:data:`ZONE_OF_ACADEMY`, zones in force since 2016: Caen and Rouen merged
as Normandie, zone B). The real extracts' départements: Calvados (14, Normandie),
Maine-et-Loire (49, Nantes), Nord and Pas-de-Calais (59, 62, Lille), Bas-Rhin and
Haut-Rhin (67, 68, Strasbourg): all zone B; Allier (03, Clermont-Ferrand): zone A. The
fictional demo territory (commune codes ``00xxx``, département ``00``) is placed in zone
B (:data:`DEMO_DEPARTEMENT`).

Examples
--------
>>> public_holidays(2026)[date(2026, 5, 14)]
'Ascension'
>>> date(2026, 4, 3) in public_holidays(2026), date(2026, 4, 3) in public_holidays(2026, "67")
(False, True)
>>> school_zone("14"), school_zone("03"), school_zone("2A")
('B', 'A', None)
>>> school_holiday(date(2026, 2, 24), "B")
"vacances d'hiver"
>>> week = week_calendar(date(2026, 11, 9), departement="14")
>>> week.notes()
['jour férié : mercredi 11/11 (Armistice)']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

from territory.vocab import WEEKDAYS_FR

__all__ = [
    "ACADEMIES",
    "DEMO_DEPARTEMENT",
    "SCHOOL_HOLIDAYS",
    "SOURCE_URL",
    "ZONE_OF_ACADEMY",
    "WeekCalendar",
    "departement_of",
    "easter",
    "public_holidays",
    "school_holiday",
    "school_zone",
    "week_calendar",
]

SOURCE_URL = "https://data.education.gouv.fr/explore/dataset/fr-en-calendrier-scolaire/"
"""The Ministry of Education's open data set the school holidays come from."""
DEMO_DEPARTEMENT = "00"
"""The fictional département of the demo territory (zone B, like Calvados)."""
ALSACE_MOSELLE = frozenset({"57", "67", "68"})
"""Départements with two more public holidays (Good Friday, 26 December)."""

ACADEMIES: dict[str, tuple[str, ...]] = {
    "Aix-Marseille": ("04", "05", "13", "84"),
    "Amiens": ("02", "60", "80"),
    "Besançon": ("25", "39", "70", "90"),
    "Bordeaux": ("24", "33", "40", "47", "64"),
    "Clermont-Ferrand": ("03", "15", "43", "63"),
    "Corse": ("2A", "2B"),
    "Créteil": ("77", "93", "94"),
    "Dijon": ("21", "58", "71", "89"),
    "Grenoble": ("07", "26", "38", "73", "74"),
    "Lille": ("59", "62"),
    "Limoges": ("19", "23", "87"),
    "Lyon": ("01", "42", "69"),
    "Montpellier": ("11", "30", "34", "48", "66"),
    "Nancy-Metz": ("54", "55", "57", "88"),
    "Nantes": ("44", "49", "53", "72", "85"),
    "Nice": ("06", "83"),
    "Normandie": ("14", "27", "50", "61", "76"),
    "Orléans-Tours": ("18", "28", "36", "37", "41", "45"),
    "Paris": ("75",),
    "Poitiers": ("16", "17", "79", "86"),
    "Reims": ("08", "10", "51", "52"),
    "Rennes": ("22", "29", "35", "56"),
    "Strasbourg": ("67", "68"),
    "Toulouse": ("09", "12", "31", "32", "46", "65", "81", "82"),
    "Versailles": ("78", "91", "92", "95"),
}
"""The départements of each académie of mainland France (96 départements)."""

ZONE_OF_ACADEMY: dict[str, str] = {
    **dict.fromkeys(
        (
            "Besançon",
            "Bordeaux",
            "Clermont-Ferrand",
            "Dijon",
            "Grenoble",
            "Limoges",
            "Lyon",
            "Poitiers",
        ),
        "A",
    ),
    **dict.fromkeys(
        (
            "Aix-Marseille",
            "Amiens",
            "Lille",
            "Nancy-Metz",
            "Nantes",
            "Nice",
            "Normandie",
            "Orléans-Tours",
            "Reims",
            "Rennes",
            "Strasbourg",
        ),
        "B",
    ),
    **dict.fromkeys(("Créteil", "Montpellier", "Paris", "Toulouse", "Versailles"), "C"),
}
"""The school-holiday zone of each académie (Corsica has its own calendar)."""

_ALL = ("A", "B", "C")
SCHOOL_HOLIDAYS: tuple[tuple[str, tuple[str, ...], date, date], ...] = (
    # 2025-2026
    ("vacances de la Toussaint", _ALL, date(2025, 10, 18), date(2025, 11, 3)),
    ("vacances de Noël", _ALL, date(2025, 12, 20), date(2026, 1, 5)),
    ("vacances d'hiver", ("A",), date(2026, 2, 7), date(2026, 2, 23)),
    ("vacances d'hiver", ("B",), date(2026, 2, 14), date(2026, 3, 2)),
    ("vacances d'hiver", ("C",), date(2026, 2, 21), date(2026, 3, 9)),
    ("vacances de printemps", ("A",), date(2026, 4, 4), date(2026, 4, 20)),
    ("vacances de printemps", ("B",), date(2026, 4, 11), date(2026, 4, 27)),
    ("vacances de printemps", ("C",), date(2026, 4, 18), date(2026, 5, 4)),
    ("pont de l'Ascension", _ALL, date(2026, 5, 14), date(2026, 5, 18)),
    ("vacances d'été", _ALL, date(2026, 7, 4), date(2026, 9, 1)),
    # 2026-2027
    ("vacances de la Toussaint", _ALL, date(2026, 10, 17), date(2026, 11, 2)),
    ("vacances de Noël", _ALL, date(2026, 12, 19), date(2027, 1, 4)),
    ("vacances d'hiver", ("A",), date(2027, 2, 13), date(2027, 3, 1)),
    ("vacances d'hiver", ("B",), date(2027, 2, 20), date(2027, 3, 8)),
    ("vacances d'hiver", ("C",), date(2027, 2, 6), date(2027, 2, 22)),
    ("vacances de printemps", ("A",), date(2027, 4, 10), date(2027, 4, 26)),
    ("vacances de printemps", ("B",), date(2027, 4, 17), date(2027, 5, 3)),
    ("vacances de printemps", ("C",), date(2027, 4, 3), date(2027, 4, 19)),
    ("pont de l'Ascension", _ALL, date(2027, 5, 6), date(2027, 5, 10)),
    ("vacances d'été", _ALL, date(2027, 7, 3), date(2027, 9, 1)),
)
"""``(name, zones, first day without class, day classes resume)``, mainland France."""
KNOWN_FROM, KNOWN_UNTIL = date(2025, 9, 1), date(2027, 8, 31)
"""The school years :data:`SCHOOL_HOLIDAYS` covers (outside: unknown)."""

_ZONE_OF_DEPARTEMENT = {
    dep: ZONE_OF_ACADEMY.get(academy) for academy, deps in ACADEMIES.items() for dep in deps
} | {DEMO_DEPARTEMENT: "B"}


def easter(year: int) -> date:
    """Easter Sunday of ``year`` (Gregorian calendar, anonymous computus).

    Examples
    --------
    >>> easter(2026), easter(2027)
    (datetime.date(2026, 4, 5), datetime.date(2027, 3, 28))
    """
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    day = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * day) // 451
    month, dom = divmod(h + day - 7 * m + 114, 31)
    return date(year, month, dom + 1)


@lru_cache(maxsize=64)
def _holidays(year: int, alsace: bool) -> dict[date, str]:
    sunday = easter(year)
    days = {
        date(year, 1, 1): "Jour de l'an",
        sunday + timedelta(days=1): "lundi de Pâques",
        date(year, 5, 1): "fête du Travail",
        date(year, 5, 8): "Victoire 1945",
        sunday + timedelta(days=39): "Ascension",
        sunday + timedelta(days=50): "lundi de Pentecôte",
        date(year, 7, 14): "fête nationale",
        date(year, 8, 15): "Assomption",
        date(year, 11, 1): "Toussaint",
        date(year, 11, 11): "Armistice",
        date(year, 12, 25): "Noël",
    }
    if alsace:
        days[sunday - timedelta(days=2)] = "Vendredi saint"
        days[date(year, 12, 26)] = "Saint-Étienne"
    return dict(sorted(days.items()))


def public_holidays(year: int, departement: str | None = None) -> dict[date, str]:
    """The public holidays of ``year`` (French names), those of Alsace-Moselle included."""
    return dict(_holidays(year, departement in ALSACE_MOSELLE))


def departement_of(commune: str) -> str:
    """The département of a commune INSEE code (``"14118"`` → ``"14"``, ``"97411"`` → ``"974"``).

    Examples
    --------
    >>> departement_of("2A004"), departement_of("97411"), departement_of("00017")
    ('2A', '974', '00')
    """
    code = str(commune).strip()
    return code[:3] if code.startswith("97") else code[:2]


def school_zone(departement: str | None) -> str | None:
    """The school-holiday zone (``"A"``, ``"B"``, ``"C"``) of a département; None if unknown."""
    return None if departement is None else _ZONE_OF_DEPARTEMENT.get(str(departement))


def school_holiday(day: date, zone: str) -> str | None:
    """The school holidays of ``zone`` that ``day`` falls in (its name), or None."""
    for name, zones, first, resume in SCHOOL_HOLIDAYS:
        if zone in zones and first <= day < resume:
            return name
    return None


@dataclass(frozen=True)
class WeekCalendar:
    """What the calendar says about one week in one place.

    Attributes
    ----------
    monday
        The week's Monday.
    departement, zone
        Where (None when unknown).
    public
        Public holidays of the week: date → French name.
    school
        Days of the week inside school holidays: date → name of the holidays.
    known
        Whether the school calendar covers the week (:data:`KNOWN_FROM`, :data:`KNOWN_UNTIL`).
    """

    monday: date
    departement: str | None
    zone: str | None
    public: dict[date, str] = field(default_factory=dict)
    school: dict[date, str] = field(default_factory=dict)
    known: bool = True

    def holiday_weekdays(self) -> dict[int, str]:
        """Weekday (0 = Monday) → public holiday name."""
        return {d.weekday(): name for d, name in self.public.items()}

    def notes(self) -> list[str]:
        """French sentences: school holidays of the week, public holidays."""
        out = []
        if self.zone is None:
            out.append("zone de vacances scolaires inconnue pour ce département")
        elif not self.known:
            out.append(
                "vacances scolaires inconnues pour cette semaine (calendrier connu du "
                f"{KNOWN_FROM:%d/%m/%Y} au {KNOWN_UNTIL:%d/%m/%Y})"
            )
        elif self.school:
            names = ", ".join(dict.fromkeys(self.school.values()))
            weekdays = [d for d in self.school if d.weekday() < 5]
            if len(weekdays) == 5:
                out.append(f"semaine de vacances scolaires (zone {self.zone}) : {names}")
            else:
                days = ", ".join(_day_fr(d) for d in self.school)
                out.append(f"vacances scolaires (zone {self.zone}) : {names}, {days}")
        for day, name in self.public.items():
            out.append(f"jour férié : {_day_fr(day)} ({name})")
        return out


def _day_fr(day: date) -> str:
    return f"{WEEKDAYS_FR[day.weekday()]} {day:%d/%m}"


def week_calendar(week: date, *, departement: str | None = None) -> WeekCalendar:
    """Public and school holidays of the week of ``week`` in ``departement``.

    Parameters
    ----------
    week
        Any day of the week (snapped to its Monday).
    departement
        INSEE code of the département (``"14"``, ``"2A"``; :data:`DEMO_DEPARTEMENT` for
        the demo); None: national public holidays, school holidays unknown.
    """
    monday = week - timedelta(days=week.weekday())
    days = [monday + timedelta(days=i) for i in range(7)]
    public: dict[date, str] = {}
    for year in {d.year for d in days}:
        public |= {d: n for d, n in public_holidays(year, departement).items() if d in days}
    zone = school_zone(departement)
    known = monday >= KNOWN_FROM and days[-1] <= KNOWN_UNTIL
    school: dict[date, str] = {}
    if zone is not None and known:
        for day in days:
            name = school_holiday(day, zone)
            if name is not None:
                school[day] = name
    return WeekCalendar(monday, departement, zone, dict(sorted(public.items())), school, known)
