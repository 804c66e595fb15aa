"""French formatting of numbers, distances, durations and moments, for every page and file.

Narrow no-break space (U+202F) between thousands, decimal comma, as the French
typographic norm and the Imprimerie nationale write them.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from territory.vocab import WEEKDAYS_FR

__all__ = [
    "format_distance",
    "format_distances",
    "format_duration",
    "format_durations",
    "format_number",
    "format_short",
    "moment_fr",
]


def format_number(value: float | int, *, decimals: int = 0) -> str:
    """French number: narrow no-break space for thousands, decimal comma.

    Examples
    --------
    >>> format_number(2400), format_number(3.14159, decimals=1)
    ('2\u202f400', '3,1')
    """
    text = f"{float(value):,.{decimals}f}"
    return text.replace(",", "\u202f").replace(".", ",")


def format_short(value: float) -> str:
    """Shortest French decimal, for small factors and speeds (Python's ``:g``).

    Examples
    --------
    >>> format_short(1.5), format_short(15.0), format_short(0.25)
    ('1,5', '15', '0,25')
    """
    return f"{value:g}".replace(".", ",")


def _distance_key(metres: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Distances rounded as they are shown: 50 m below 1 km, 100 m below 10 km, then 1 km."""
    m = np.asarray(metres, dtype=float)
    step = np.where(m < 950, 50.0, np.where(m < 9_950, 100.0, 1000.0))
    return np.round(m / step) * step


def _distance_text(key: float) -> str:
    if key < 1000:
        return f"{key:.0f} m"
    if key < 10_000:
        return f"{format_number(key / 1000, decimals=1).removesuffix(',0')} km"
    return f"{format_number(key / 1000)} km"


def format_distance(metres: float) -> str:
    """French distance: ``"800 m"``, ``"1,2 km"``, ``"9 km"``.

    Examples
    --------
    >>> format_distance(812), format_distance(1240), format_distance(9040), format_distance(980)
    ('800 m', '1,2 km', '9 km', '1 km')
    """
    return _distance_text(float(_distance_key(metres)))


def format_distances(metres: npt.ArrayLike) -> list[str]:
    """:func:`format_distance` of many values at once (``""`` for a missing value).

    Examples
    --------
    >>> format_distances([812.0, float("nan"), 812.4])
    ['800 m', '', '800 m']
    """
    keys = _distance_key(metres)
    unique, inverse = np.unique(keys, return_inverse=True)
    texts = np.array([_distance_text(k) if np.isfinite(k) else "" for k in unique], dtype=object)
    return [str(t) for t in texts[inverse.ravel()]]


def format_duration(minutes: float) -> str:
    """French duration: ``"14 min"``, ``"2 h 05"``.

    Examples
    --------
    >>> format_duration(14.2), format_duration(125)
    ('14 min', '2 h 05')
    """
    total = round(minutes)
    if total < 60:
        return f"{max(total, 1)} min"
    return f"{total // 60} h {total % 60:02d}"


def format_durations(minutes: npt.ArrayLike) -> list[str]:
    """:func:`format_duration` of many values at once (``""`` for a missing value)."""
    keys = np.round(np.asarray(minutes, dtype=float))
    unique, inverse = np.unique(keys, return_inverse=True)
    texts = np.array([format_duration(k) if np.isfinite(k) else "" for k in unique], dtype=object)
    return [str(t) for t in texts[inverse.ravel()]]


def moment_fr(weekday: int, hour: int) -> str:
    """``"mardi 18 h"``."""
    return f"{WEEKDAYS_FR[weekday]} {hour} h"
