"""Dates and hours of contact files, as French teams write them (private to the readers).

``parse_dates`` reads a chunk's date column (and its hour column when there is one): the
fixed layouts of :data:`_DATE_LAYOUTS` without ``strptime``, then :data:`_DATE_FORMATS`,
then a day with its hour written the French way ("17h00", "17 h 30", "9h") or no hour
at all (hour unknown). ``day_text`` formats the days stored.
"""

from __future__ import annotations

import re
from typing import cast

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from territory.privacy.pseudonyms import to_arrow as _to_arrow

__all__ = ["day_text", "parse_dates"]

_DATE_FORMATS = (
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
)
# Layouts parsed without strptime; anything else goes through _DATE_FORMATS. Each one is
# also one of _DATE_FORMATS, and any of them that reads such a string reads the same moment.
_DATE_LAYOUTS = (
    "DD/MM/YYYY hh:mm",
    "DD/MM/YYYY hh:mm:ss",
    "YYYY-MM-DD hh:mm",
    "YYYY-MM-DDThh:mm:ss",
    "YYYY-MM-DD hh:mm:ss",
    "YYYY-MM-DDThh:mm",
)


def day_text(days: npt.NDArray[np.datetime64]) -> npt.NDArray[np.object_]:
    """``YYYY-MM-DD`` of each day, formatted once per distinct day."""
    unique, inverse = np.unique(days, return_inverse=True)
    text = pd.DatetimeIndex(unique).strftime("%Y-%m-%d").to_numpy(dtype=object)
    return cast("npt.NDArray[np.object_]", text[inverse])


def parse_dates(
    chunk: pd.DataFrame, found: dict[str, str]
) -> tuple[npt.NDArray[np.datetime64], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Date and time of each row, whether its hour is known, whether its date was read.

    The moment is ``datetime64[us]``: NaT when the date or the hour cannot be read, the
    day at midnight when the hour is unknown (a date alone, an empty hour column). The
    hour may follow the date or sit in its own column, written ``17:00``, ``17h00``,
    ``17h``, ``17 h 30``, ``9h05`` or ``09:30:00``. A date column whose every time is
    midnight (Excel date cells, ``2026-11-03 00:00:00``) has no hour: unknown, not 0 h.
    """
    text = chunk[found["date"]].str.strip().fillna("")
    if "heure" in found:  # an empty hour keeps the date column as it is ("2026-03-07 15:30")
        hour = chunk[found["heure"]].str.strip().fillna("")
        text = text.where(hour == "", text + " " + hour)
    result = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[us]")
    known = np.ones(len(text), dtype=bool)
    day_read = np.ones(len(text), dtype=bool)
    done = _fast_dates(text, result)
    if not done.all():  # other spellings ("1/2/2026 9:05", "12/03/2026 17h00"…)
        rest = text[~done]
        parsed = pd.Series(pd.NaT, index=rest.index, dtype="datetime64[us]")
        for fmt in _DATE_FORMATS:
            missing = parsed.isna()
            if not missing.any():
                break
            parsed[missing] = pd.to_datetime(rest[missing], format=fmt, errors="coerce")
        missing = parsed.isna().to_numpy(dtype=bool)
        rest_known = np.ones(len(rest), dtype=bool)
        rest_day = np.ones(len(rest), dtype=bool)
        if missing.any():  # a date, then maybe an hour in French spelling
            moment, unknown_hour, has_day = _date_and_hour(rest[missing])
            parsed[missing] = moment
            rest_known[missing] = ~unknown_hour
            rest_day[missing] = has_day
        known[~done] = rest_known
        day_read[~done] = rest_day
        result[~done] = parsed.to_numpy(dtype="datetime64[us]")
    if "heure" not in found:
        # Excel date cells without a time come as "2026-11-03 00:00:00": when every dated
        # row of the chunk is at midnight, the column holds days, not hours
        dated = known & ~np.isnat(result)
        midnight = dated & (result - result.astype("datetime64[D]") == np.timedelta64(0, "us"))
        if dated.any() and (midnight == dated).all():
            known[midnight] = False
    return result, known, day_read


_DAY_PART = re.compile(
    r"^(?P<day>[0-9]{1,2}[/.-][0-9]{1,2}[/.-][0-9]{4}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2})"
    r"(?:(?:\s+|T)(?:0?0:00(?::00)?\s+)?(?P<time>.*?))?\s*$"
)
_TIME_PART = re.compile(
    r"^(?P<h>[0-9]{1,2})\s*(?:[hH]\s*(?P<m1>[0-9]{2})?|:\s*(?P<m2>[0-9]{2})(?::(?P<s>[0-9]{2}))?)$"
)
_DAY_FORMATS = ("%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y-%m-%d")


def _date_and_hour(
    text: pd.Series,
) -> tuple[npt.NDArray[np.datetime64], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Moments of dates followed by an hour in French spelling, or by no hour at all.

    Returns the moments (NaT: unreadable), whether the hour is unknown (a date alone:
    midnight of its day), and whether the day itself could be read (a readable day with
    an unreadable hour is NaT, its hour "unknown" False).
    """
    parts = text.str.extract(_DAY_PART)
    day_text = parts["day"].fillna("")
    day = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    for fmt in _DAY_FORMATS:
        missing = day.isna() & (day_text != "")
        if not missing.any():
            break
        day[missing] = pd.to_datetime(day_text[missing], format=fmt, errors="coerce")
    time_text = parts["time"].fillna("")
    clock = time_text.str.extract(_TIME_PART)
    hour = pd.to_numeric(clock["h"], errors="coerce")
    minute = pd.to_numeric(clock["m1"].fillna(clock["m2"]).fillna("0"), errors="coerce")
    second = pd.to_numeric(clock["s"].fillna("0"), errors="coerce")
    valid_time = hour.le(23) & minute.le(59) & second.le(59)
    no_time = (time_text == "").to_numpy(dtype=bool)
    has_day = day.notna().to_numpy(dtype=bool)
    offset = (
        pd.to_timedelta(hour.where(valid_time, 0).fillna(0), unit="h")
        + pd.to_timedelta(minute.where(valid_time, 0).fillna(0), unit="m")
        + pd.to_timedelta(second.where(valid_time, 0).fillna(0), unit="s")
    )
    moment = (day + offset).to_numpy(dtype="datetime64[us]", copy=True)
    readable = has_day & (no_time | valid_time.to_numpy(dtype=bool))
    moment[~readable] = np.datetime64("NaT")
    return moment, has_day & no_time, has_day


def _fast_dates(text: pd.Series, out: npt.NDArray[np.datetime64]) -> npt.NDArray[np.bool_]:
    """Fill ``out`` where ``text`` is a valid date in one of :data:`_DATE_LAYOUTS`.

    Only what strptime with the same format would read identically is taken (zero-padded
    fields, a real calendar day, years 1900-2199); the rest is left to it.
    """
    done = np.zeros(len(text), dtype=bool)
    if not len(text):
        return done
    values = _to_arrow(text)
    for width in sorted({len(layout) for layout in _DATE_LAYOUTS}):
        rows, data = _fixed_width(values, width)
        if not len(rows):
            continue
        digit = data - ord("0")
        for layout in (lay for lay in _DATE_LAYOUTS if len(lay) == width):
            fields: dict[str, np.ndarray] = {}
            match = np.ones(len(rows), dtype=bool)
            for position, char in enumerate(layout):
                if char.isalpha():
                    match &= digit[:, position] <= 9  # uint8: below '0' wraps round
                else:
                    match &= data[:, position] == ord(char)
            if not match.any():
                continue
            for letter in "YMDhms":
                places = [i for i, c in enumerate(layout) if c == letter]
                value = np.zeros(len(rows), dtype=np.int64)
                for i in places:
                    value = value * 10 + digit[:, i]
                fields[letter] = value
            year, month, day = fields["Y"], fields["M"], fields["D"]
            hour, minute, second = fields["h"], fields["m"], fields["s"]
            match &= (year >= 1900) & (year <= 2199) & (month >= 1) & (month <= 12)
            match &= (day >= 1) & (hour <= 23) & (minute <= 59) & (second <= 59)
            months = np.where(match, (year - 1970) * 12 + month - 1, 0).astype("datetime64[M]")
            first = months.astype("datetime64[D]")
            length = ((months + 1).astype("datetime64[D]") - first).astype(np.int64)
            match &= day <= length
            if not match.any():
                continue
            moment = (
                first.astype("datetime64[us]")
                + (day - 1) * np.timedelta64(86_400_000_000, "us")
                + hour * np.timedelta64(3_600_000_000, "us")
                + minute * np.timedelta64(60_000_000, "us")
                + second * np.timedelta64(1_000_000, "us")
            )
            out[rows[match]] = moment[match]
            done[rows[match]] = True
            rows, data, digit = rows[~match], data[~match], digit[~match]
            if not len(rows):
                break
    return done


def _fixed_width(values: pa.Array, width: int) -> tuple[npt.NDArray[np.intp], np.ndarray]:
    """Positions of the values of exactly ``width`` bytes and their bytes (rows × width)."""
    buffers = values.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64)[
        values.offset : values.offset + len(values) + 1
    ]
    ok = np.diff(offsets) == width
    if values.null_count:
        ok &= values.is_valid().to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(ok)
    if buffers[2] is None or not len(rows):
        return rows[:0], np.empty((0, width), dtype=np.uint8)
    data = np.frombuffer(buffers[2], dtype=np.uint8)
    return rows, data[offsets[rows][:, None] + np.arange(width)]
