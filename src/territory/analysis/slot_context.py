"""The slots of an outreach day, and what is open and served in each of them.

A slot is :data:`SLOT_HOURS` hours of a weekday (``(jour, debut)``, Monday = 0) within
:data:`DEFAULT_HOURS`. :func:`partner_slots` says which partners are open in each slot of
a given week (public holidays closed unless the hours say ``PH``), :func:`transit_slots`
how many departures an hour serve it; the French sentences of « Où et quand » about
them live here too (:mod:`territory.analysis.slots` ranks the slots).
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta

import pandas as pd

from territory._errors import ValidationError
from territory._fr import format_distance
from territory.analysis.indicators import PARTNER_PHRASES
from territory.calendar import week_calendar
from territory.hours import open_during
from territory.vocab import TRANSIT_NO_DATA, TRANSIT_UNKNOWN_HOURS, WEEKDAYS_FR

__all__ = [
    "DEFAULT_HOURS",
    "SLOT_HOURS",
    "UNKNOWN_TRANSIT",
    "partner_slots",
    "partner_text",
    "slot_index",
    "slot_label",
    "slot_starts",
    "transit_slots",
    "transit_text",
]

SLOT_HOURS = 2
"""Length of a slot in hours."""
DEFAULT_HOURS = (8, 22)
"""Outreach day: slots from 8 h to 22 h (7 slots a day)."""
_MAX_TYPES = 3  # partner types named in a sentence (nearest first)
_SAYS_PH = re.compile(r"\bPH\b")


def slot_starts(hours: tuple[int, int]) -> list[int]:
    """Start hours of the slots of ``hours`` (even hours, e.g. ``(8, 22)``)."""
    h0, h1 = hours
    if not (0 <= h0 < h1 <= 24) or (h1 - h0) % SLOT_HOURS or h0 % SLOT_HOURS:
        raise ValidationError(
            f"plage horaire {hours} invalide : heures paires, 0 ≤ début < fin ≤ 24 (ex. (8, 22))"
        )
    return list(range(h0, h1, SLOT_HOURS))


def slot_label(weekday: int, start: int) -> str:
    """French label of a slot: ``"mardi 16-18 h"``."""
    return f"{WEEKDAYS_FR[weekday]} {start}-{start + SLOT_HOURS} h"


def slot_index(hours: tuple[int, int]) -> pd.MultiIndex:
    """The ``(jour, debut)`` index of a week's slots within ``hours``."""
    starts = slot_starts(hours)
    return pd.MultiIndex.from_product([range(7), starts], names=["jour", "debut"])


def partner_slots(
    partners: pd.DataFrame,
    *,
    week_start: date,
    hours: tuple[int, int] = DEFAULT_HOURS,
    departement: str | None = None,
) -> pd.DataFrame:
    """Whether each partner is open for the whole of each slot of the week of ``week_start``.

    Parameters
    ----------
    partners
        Rows with ``horaires`` (OSM opening_hours).
    week_start
        Any day of the week (snapped to its Monday); actual dates, so public holidays
        (``PH off``) close the partner.
    hours
        Even hours of the outreach day.
    departement
        Whose public holidays (:func:`territory.calendar.public_holidays`; Alsace-Moselle
        has two more). On a public holiday a partner counts as open only when its hours
        say so (a ``PH`` rule): hours without one are assumed closed.

    Returns
    -------
    pandas.DataFrame
        Booleans, one row per partner (same index), columns ``(jour, debut)``; unknown
        hours count as closed.

    Examples
    --------
    >>> p = pd.DataFrame({"horaires": ["Mo-Fr 08:30-12:30,13:30-17:00; PH off"]})
    >>> open_slots = partner_slots(p, week_start=date(2026, 11, 9), hours=(8, 18))
    >>> [s for s in open_slots.columns if open_slots.loc[0, s]][:3]
    [(0, 10), (0, 14), (1, 10)]
    >>> bool(open_slots.loc[0, (2, 10)])  # Wednesday 11 November 2026 is a public holiday
    False
    """
    monday = week_start - timedelta(days=week_start.weekday())
    index = slot_index(hours)
    closed = set(week_calendar(monday, departement=departement).holiday_weekdays())
    texts = partners["horaires"].fillna("").astype(str) if "horaires" in partners else None
    rows = []
    cache: dict[str, list[bool]] = {}
    for text in texts if texts is not None else [""] * len(partners):
        if text not in cache:
            cache[text] = [
                open_during(
                    text,
                    datetime.combine(monday + timedelta(days=d), datetime.min.time())
                    + timedelta(hours=s),
                    datetime.combine(monday + timedelta(days=d), datetime.min.time())
                    + timedelta(hours=s + SLOT_HOURS),
                )
                is True
                and (d not in closed or _SAYS_PH.search(text) is not None)
                for d, s in index
            ]
        rows.append(cache[text])
    return pd.DataFrame(rows, index=partners.index, columns=index, dtype=bool)


# ---------------------------------------------------------------------------- transit


def transit_slots(
    stop_hours: pd.DataFrame,
    stop_ids: list[str],
    *,
    stop_names: dict[str, str] | None = None,
    hours: tuple[int, int] = DEFAULT_HOURS,
) -> pd.DataFrame:
    """Departures per hour at the best-served of ``stop_ids`` in each slot.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``(jour, debut)``: ``departs_par_heure`` (mean over the slot's hours
        at the stop with most departures in the slot, 0 when none) and ``arret`` (its
        name, ``""`` when none).

    Examples
    --------
    >>> h = pd.DataFrame({"stop_id": ["a", "a", "b"], "weekday": [1, 1, 1],
    ...                   "hour": [16, 17, 16], "departs": [3, 3, 4]})
    >>> t = transit_slots(h, ["a", "b"], hours=(16, 18))
    >>> t.loc[(1, 16), "departs_par_heure"], t.loc[(1, 16), "arret"]
    (np.float64(3.0), 'a')
    """
    index = slot_index(hours)
    out = pd.DataFrame({"departs_par_heure": 0.0, "arret": ""}, index=index)
    near = stop_hours[stop_hours["stop_id"].isin(set(stop_ids))]
    h0, h1 = hours
    near = near[(near["hour"] >= h0) & (near["hour"] < h1)]
    if near.empty:
        return out
    start = h0 + (near["hour"] - h0) // SLOT_HOURS * SLOT_HOURS
    per = (
        near.assign(jour=near["weekday"], debut=start)
        .groupby(["jour", "debut", "stop_id"])["departs"]
        .sum()
        .reset_index()
        .sort_values(["jour", "debut", "departs", "stop_id"], ascending=[True, True, False, True])
        .drop_duplicates(["jour", "debut"])
        .set_index(["jour", "debut"])
    )
    names = stop_names or {}
    out.loc[per.index, "departs_par_heure"] = per["departs"].to_numpy(float) / SLOT_HOURS
    out.loc[per.index, "arret"] = [names.get(s, s) for s in per["stop_id"]]
    return out


# ---------------------------------------------------------------------------- combine


def partner_text(types: list[str]) -> str:
    """French phrase naming the partner types open in a slot."""
    if not types:
        return "aucun partenaire proche ouvert"
    nouns = [PARTNER_PHRASES.get(t, t) for t in types[:_MAX_TYPES]]
    more = len(types) - len(nouns)
    verb = "ouvert" if len(nouns) == 1 else "ouverts"
    if len(nouns) == 1 and nouns[0] in ("mission locale", "école de la 2e chance"):
        verb = "ouverte"
    joined = nouns[0] if len(nouns) == 1 else ", ".join(nouns[:-1]) + " et " + nouns[-1]
    if more:
        return f"{', '.join(nouns)} et {more} autre(s) type(s) ouverts"
    return f"{joined} {verb}"


def transit_text(per_hour: float | None, stop: str, radius_m: float, state: str = "") -> str:
    """French phrase on a slot's transit service near the zone."""
    if per_hour is None or (isinstance(per_hour, float) and math.isnan(per_hour)):
        return UNKNOWN_TRANSIT.get(state, "desserte inconnue")
    if per_hour <= 0:
        return f"aucun départ à moins de {format_distance(radius_m)}"
    where = f" (arrêt {stop})" if stop else ""
    if per_hour < 1:
        n = round(per_hour * SLOT_HOURS)
        return f"{n} départ{'s' if n > 1 else ''} sur le créneau{where}"
    if per_hour >= 12:
        return f"{round(per_hour)} départs par heure{where}"
    return f"un départ toutes les {round(60 / per_hour)} min{where}"


UNKNOWN_TRANSIT = {
    TRANSIT_NO_DATA: "pas de données de transport",
    TRANSIT_UNKNOWN_HOURS: "horaires de transport inconnus",
}
"""A slot's transit phrase when the zone has no timetable to count departures from."""
