"""French formatting of numbers, distances, durations and moments, for every page and file.

Narrow no-break space (U+202F) between thousands, decimal comma, as the French
typographic norm and the Imprimerie nationale write them.

Every CSV written for people (exports, downloads, plans) goes through :func:`french_csv`:
the format a French office's spreadsheet opens in columns.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from territory.vocab import WEEKDAYS_FR

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MONTHS_FR",
    "MONTHS_SHORT_FR",
    "format_distance",
    "format_distances",
    "format_duration",
    "format_durations",
    "format_number",
    "format_short",
    "french_csv",
    "moment_fr",
]

MONTHS_FR: tuple[str, ...] = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
"""French month names, January first."""
MONTHS_SHORT_FR: tuple[str, ...] = (
    "janv.",
    "févr.",
    "mars",
    "avr.",
    "mai",
    "juin",
    "juil.",
    "août",
    "sept.",
    "oct.",
    "nov.",
    "déc.",
)
"""Their usual French abbreviations."""

CSV_DECIMALS = 2
"""Decimals of a number column of :func:`french_csv` unless told otherwise."""


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


def french_csv(
    frame: pd.DataFrame,
    out: str | Path | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    decimals: Mapping[str, int] | None = None,
) -> bytes:
    r"""Write ``frame`` as a CSV that a French spreadsheet opens in columns; returns its bytes.

    ``;`` between fields, decimal comma, UTF-8 with a byte-order mark (Excel reads the
    accents), ``oui`` / ``non`` for booleans. Each number column is rounded to
    ``decimals[column]`` (by its name in ``frame``; :data:`CSV_DECIMALS` otherwise) and
    written as an integer when every value is whole (a count with gaps stays ``12``, not
    ``12,0``). Text columns are written as they are: codes (INSEE, SIREN, QPV) keep their
    leading zeros in the file (read them back as text). ``headers`` renames columns (the
    French label of each English or technical name); columns it does not name keep theirs.
    ``out`` is written when given (its folder created); the bytes serve downloads.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"code": ["01004"], "rate": [12.3456], "ok": [True]})
    >>> french_csv(table, headers={"rate": "Taux (%)"}, decimals={"rate": 1}).decode("utf-8-sig")
    'code;Taux (%);ok\r\n01004;12,3;oui\r\n'
    """
    import pandas as pd

    places = dict(decimals or {})
    table = pd.DataFrame(frame).copy()
    for name in table.columns:
        column = table[name]
        if pd.api.types.is_bool_dtype(column):
            table[name] = column.map({True: "oui", False: "non"})
        elif pd.api.types.is_float_dtype(column):
            rounded = column.round(places.get(name, CSV_DECIMALS))
            whole = rounded.dropna()
            if whole.eq(whole.round()).all() and whole.abs().lt(2**53).all():
                table[name] = rounded.astype("Int64")
            else:
                table[name] = rounded
    if headers:
        table = table.rename(columns=dict(headers))
    buffer = io.StringIO()
    table.to_csv(buffer, sep=";", decimal=",", index=False, lineterminator="\r\n")
    data = buffer.getvalue().encode("utf-8-sig")
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_bytes(data)
    return data
