"""GTFS feeds: served stops, departures per stop and day, zones blanches of one feed.

A feed is read once (:func:`read_gtfs`) into a :class:`GtfsFeed` of small, typed tables;
``stop_times`` (often millions of rows) keeps three columns only, with ``trip_id`` and
``stop_id`` as categories and times as seconds from the start of the service day, so
that the feed of a large network fits in memory and a day's departures take a fraction
of a second. Files a feed may lack (``stop_times.txt`` in many extracts) are noted in
French in ``GtfsFeed.notes``; what they would give comes back as unknown (``NA``), never
as zero.

Departures are counted per calendar day: trips of the previous service day running after
midnight (times ``24:00:00`` and later) count on the next day, at their clock hour. A
"departure" is a stop event of ``stop_times`` (a bus passing at the stop).

A stop whose departures are unknown is never « desservi », and a feed without timetables
gives no zone blanche (:func:`service_gaps`). Several feeds in one workspace, each a named
network, are handled by :mod:`territory.io.gtfs_networks`; where the feeds say something
(coverage, « pas de données de transport ») by :mod:`territory.analysis.transit_coverage`.

For the round planner, the GTFS import also stores a **frequency-based network** built
from a feed read here (:mod:`territory.rounds.transit`: ``transit_links``,
``save_transit_links``, ``TransitNetwork``).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import IO

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import shapely
from shapely.geometry.base import BaseGeometry

from territory._errors import CRSError, InputFileError, ValidationError, plain_reason
from territory.crs import METRIC_CRS
from territory.io.report import ImportReport

__all__ = [
    "GtfsFeed",
    "active_services",
    "departures_by_hour",
    "departures_per_stop",
    "read_gtfs",
    "reference_weekday",
    "require_schedule",
    "service_gaps",
    "stop_hours_table",
    "stops_layer",
]

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAY_S = 86_400
_COLUMNS: dict[str, tuple[str, ...]] = {
    "agency.txt": ("agency_id", "agency_name", "agency_url", "agency_timezone"),
    "stops.txt": (
        "stop_id",
        "stop_name",
        "stop_lat",
        "stop_lon",
        "location_type",
        "parent_station",
    ),
    "routes.txt": ("route_id", "agency_id", "route_short_name", "route_long_name", "route_type"),
    "trips.txt": ("trip_id", "route_id", "service_id"),
    "stop_times.txt": ("trip_id", "stop_id", "departure_time", "stop_sequence"),
    "calendar.txt": ("service_id", *WEEKDAYS, "start_date", "end_date"),
    "calendar_dates.txt": ("service_id", "date", "exception_type"),
}
_REQUIRED: dict[str, tuple[str, ...]] = {
    "agency.txt": (),
    "stops.txt": ("stop_id", "stop_lat", "stop_lon"),
    "routes.txt": ("route_id",),
    "trips.txt": ("trip_id", "route_id", "service_id"),
    "stop_times.txt": ("trip_id", "stop_id", "departure_time"),
    "calendar.txt": ("service_id", *WEEKDAYS, "start_date", "end_date"),
    "calendar_dates.txt": ("service_id", "date", "exception_type"),
}


@dataclass(frozen=True, eq=False)
class GtfsFeed:
    """The tables of a GTFS feed that the dashboard uses (ids as strings).

    Attributes
    ----------
    agency, routes, trips
        GTFS columns as text (``routes``: ``route_id, agency_id, route_short_name,
        route_long_name, route_type``; ``trips``: ``trip_id, route_id, service_id``).
    stops
        Served stops only (``location_type`` 0 or empty) with valid coordinates:
        ``stop_id, stop_name, stop_lat, stop_lon`` (floats), ``parent_station``.
    stop_times
        ``trip_id``, ``stop_id`` (categories), ``departure_s`` (``Int32`` seconds from
        the start of the service day, may exceed 86,400; ``NA`` when the time is empty)
        and ``stop_sequence`` (``Int32``, ``NA`` when the file has no such column or the
        value is unreadable). Empty when the feed has no ``stop_times.txt``.
    calendar
        ``service_id``, ``monday`` … ``sunday`` (0/1 ints), ``start_date``, ``end_date``
        (timestamps).
    calendar_dates
        ``service_id``, ``date`` (timestamp), ``exception_type`` (1 added, 2 removed).
    files
        GTFS file names that were present and read.
    notes
        What the feed lacks and what therefore cannot be computed, in French.
    """

    agency: pd.DataFrame
    stops: pd.DataFrame
    routes: pd.DataFrame
    trips: pd.DataFrame
    stop_times: pd.DataFrame
    calendar: pd.DataFrame
    calendar_dates: pd.DataFrame
    files: frozenset[str] = frozenset()
    notes: tuple[str, ...] = ()

    @property
    def has_schedule(self) -> bool:
        """Whether departures per stop and day can be counted."""
        return (
            len(self.stop_times) > 0
            and len(self.trips) > 0
            and bool({"calendar.txt", "calendar_dates.txt"} & self.files)
        )


# --------------------------------------------------------------------------- reading


class _Source:
    """GTFS files in a folder or a zip archive (possibly inside one sub-folder)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.zip: zipfile.ZipFile | None = None
        self.members: dict[str, str] = {}
        if path.is_dir():
            self.members = {p.name: str(p) for p in path.iterdir() if p.is_file()}
        elif path.is_file():
            try:
                self.zip = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError) as exc:
                raise InputFileError(
                    f"{path.name} n'est pas une archive GTFS lisible : attendu un fichier .zip "
                    f"ou un dossier contenant stops.txt ({plain_reason(exc)})"
                ) from exc
            for member in sorted(self.zip.namelist(), key=lambda m: m.count("/")):
                name = member.rsplit("/", 1)[-1]
                if name and not member.endswith("/"):
                    self.members.setdefault(name, member)
        else:
            raise InputFileError(f"flux GTFS introuvable : {path}")

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        if self.zip is not None:
            with self.zip.open(self.members[name]) as handle:
                yield handle
        else:
            with Path(self.members[name]).open("rb") as handle:
                yield handle

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()


def _header(source: _Source, name: str) -> list[str]:
    with source.open(name) as handle:
        first = handle.readline().decode("utf-8-sig", errors="replace")
    return next(csv.reader(io.StringIO(first)), [])


def _read_arrow(source: _Source, name: str, notes: list[str]) -> pa.Table | None:
    """The needed columns of one file as strings (trimmed); ``None`` if absent or unusable."""
    if name not in source.members:
        return None
    raw_names = _header(source, name)
    if not raw_names:
        notes.append(f"{name} vide : ignoré")
        return None
    clean = {c.strip().lstrip("\ufeff"): c for c in raw_names}
    missing = [c for c in _REQUIRED[name] if c not in clean]
    if missing:
        if name == "stops.txt":
            raise InputFileError(
                f"stops.txt : colonnes attendues {', '.join(_REQUIRED[name])} ; colonnes "
                f"trouvées : {', '.join(c.strip() for c in raw_names) or 'aucune'}"
            )
        notes.append(f"{name} ignoré : colonne(s) {', '.join(missing)} absente(s)")
        return None
    include = [clean[c] for c in _COLUMNS[name] if c in clean]
    convert = pacsv.ConvertOptions(
        include_columns=include,
        column_types=dict.fromkeys(include, pa.string()),
        strings_can_be_null=False,
    )
    # Quoted line breaks only make sense in names; allowing them slows the big files down.
    parse = pacsv.ParseOptions(newlines_in_values=name in ("agency.txt", "stops.txt", "routes.txt"))
    table: pa.Table | None = None
    for encoding in ("utf8", "cp1252"):
        try:
            with source.open(name) as handle:
                table = pacsv.read_csv(
                    handle,
                    read_options=pacsv.ReadOptions(encoding=encoding),
                    parse_options=parse,
                    convert_options=convert,
                )
            break
        except (pa.ArrowInvalid, pa.ArrowKeyError) as exc:  # a column missing: KeyError
            if encoding == "cp1252":
                raise InputFileError(
                    f"{name} illisible dans le flux GTFS : {plain_reason(exc)}"
                ) from exc
    assert table is not None
    table = table.rename_columns([c.strip().lstrip("\ufeff") for c in table.column_names])
    if name == "stop_times.txt":  # big: values are trimmed on the dictionaries, see _encode
        return table
    return pa.table({c: pc.utf8_trim_whitespace(table.column(c)) for c in table.column_names})


def _frame(table: pa.Table | None, name: str) -> pd.DataFrame:
    if table is None:
        return pd.DataFrame({c: pd.Series(dtype="str") for c in _REQUIRED[name]})
    return table.to_pandas()


def read_gtfs(path: Path, *, report: ImportReport | None = None) -> tuple[GtfsFeed, ImportReport]:
    """Read a GTFS feed (zip archive or folder).

    Only the columns the dashboard uses are read, ids as strings. ``stops.txt`` is
    required; without ``routes``/``trips``/``stop_times``/``calendar`` files the stops are
    still returned and ``GtfsFeed.notes`` says what cannot be computed. Stations
    (``location_type`` 1) and entrances or nodes (2–4) are not served stops: they are
    left out and noted. In the report, ``read`` counts the served stops of ``stops.txt``
    and ``refused`` those with a missing id, a duplicated id or unusable coordinates.

    Parameters
    ----------
    path
        ``.zip`` GTFS archive or folder holding the ``.txt`` files.
    report
        Report to fill (e.g. created by the caller with its own ``kind``/``source``).

    Raises
    ------
    InputFileError
        The path is not a zip or folder, ``stops.txt`` is missing or lacks
        ``stop_id``/``stop_lat``/``stop_lon``, or a file cannot be parsed.
    """
    path = Path(path)
    report = report or ImportReport(kind="gtfs", source=path.name)
    source = _Source(path)
    notes: list[str] = []
    try:
        if "stops.txt" not in source.members:
            found = ", ".join(sorted(source.members)) or "aucun fichier"
            raise InputFileError(
                f"{path.name} n'est pas un flux GTFS : stops.txt attendu ; trouvé : {found}"
            )
        tables = {name: _read_arrow(source, name, notes) for name in _COLUMNS}
        stop_times = _stop_times(tables.pop("stop_times.txt"), notes)
        has_frequencies = "frequencies.txt" in source.members
    finally:
        source.close()

    stops = _stops(_frame(tables["stops.txt"], "stops.txt"), report, notes)
    present = frozenset(name for name, table in tables.items() if table is not None)
    if not stop_times.empty:
        present = present | {"stop_times.txt"}
    if "routes.txt" not in present:
        notes.append("routes.txt absent : noms de lignes non disponibles")
    if "trips.txt" not in present:
        notes.append("trips.txt absent : départs par arrêt et lignes par arrêt non calculables")
    if "stop_times.txt" not in present:
        notes.append(
            "stop_times.txt absent ou vide : fréquences de passage non calculables (départs par "
            "arrêt inconnus : arrêts non comptés comme desservis, zones blanches non "
            "calculables, « horaires de transport inconnus »)"
        )
    if not {"calendar.txt", "calendar_dates.txt"} & present:
        notes.append(
            "calendar.txt et calendar_dates.txt absents : jours de service inconnus, départs "
            "par jour non calculables"
        )
    if has_frequencies:
        notes.append(
            "frequencies.txt présent mais non pris en compte : les départs des lignes "
            "cadencées peuvent être sous-estimés"
        )
    feed = GtfsFeed(
        agency=_frame(tables["agency.txt"], "agency.txt"),
        stops=stops,
        routes=_frame(tables["routes.txt"], "routes.txt"),
        trips=_frame(tables["trips.txt"], "trips.txt"),
        stop_times=stop_times,
        calendar=_calendar(tables["calendar.txt"], notes),
        calendar_dates=_calendar_dates(tables["calendar_dates.txt"], notes),
        files=present,
        notes=tuple(notes),
    )
    for note in notes:
        report.note(note)
    return feed, report.check()


def _stops(raw: pd.DataFrame, report: ImportReport, notes: list[str]) -> pd.DataFrame:
    for column in _COLUMNS["stops.txt"]:
        if column not in raw:
            raw[column] = ""
    location = raw["location_type"]
    served = location.isin(["", "0"]).to_numpy()
    stations = int((location == "1").sum())
    others = int((~served).sum()) - stations
    if stations:
        notes.append(
            f"{stations} station(s) (location_type 1) ignorée(s) : regroupements d'arrêts, "
            "pas des arrêts desservis"
        )
    if others:
        notes.append(f"{others} entrée(s), nœud(s) ou zone(s) d'embarquement ignoré(s)")
    lines = np.flatnonzero(served) + 2  # line numbers in stops.txt (header is line 1)
    stops = raw.loc[served].reset_index(drop=True)
    report.read += len(stops)
    lat = pd.to_numeric(stops["stop_lat"], errors="coerce").to_numpy(dtype="float64")
    lon = pd.to_numeric(stops["stop_lon"], errors="coerce").to_numpy(dtype="float64")
    ids = stops["stop_id"].to_numpy(dtype=object)
    no_id = ids == ""
    duplicated = stops["stop_id"].duplicated().to_numpy() & ~no_id
    unreadable = np.isnan(lat) | np.isnan(lon)
    with np.errstate(invalid="ignore"):
        out_of_range = ~unreadable & ~((np.abs(lat) <= 90) & (np.abs(lon) <= 180))
    null_island = (lat == 0) & (lon == 0)
    bad = no_id | duplicated | unreadable | out_of_range | null_island
    for i in np.flatnonzero(bad):
        stop = f"arrêt « {ids[i]} » : "
        if no_id[i]:
            reason = "stop_id vide"
        elif duplicated[i]:
            reason = stop + "stop_id en double (première occurrence gardée)"
        elif unreadable[i]:
            reason = stop + (
                f"coordonnées manquantes ou illisibles (stop_lat « {stops.at[i, 'stop_lat']} », "
                f"stop_lon « {stops.at[i, 'stop_lon']} »)"
            )
        elif out_of_range[i]:
            reason = stop + f"coordonnées hors bornes (lat {lat[i]:g}, lon {lon[i]:g})"
        else:
            reason = stop + "coordonnées nulles (0, 0)"
        report.refuse(int(lines[i]), reason)
    report.accept(int((~bad).sum()))
    kept = stops.loc[~bad]
    names = kept["stop_name"].where(kept["stop_name"] != "", kept["stop_id"])
    return pd.DataFrame(
        {
            "stop_id": kept["stop_id"].to_numpy(),
            "stop_name": names.to_numpy(),
            "stop_lat": lat[~bad],
            "stop_lon": lon[~bad],
            "parent_station": kept["parent_station"].to_numpy(),
        }
    ).astype({"stop_id": "str", "stop_name": "str", "parent_station": "str"})


def _encode(column: pa.ChunkedArray) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.object_]]:
    """Codes and distinct trimmed values of a text column (code -1 for empty text).

    Dictionary-encoding first means only the distinct values are trimmed and parsed,
    which keeps millions of ``stop_times`` rows fast.
    """
    encoded = column.combine_chunks().dictionary_encode()
    raw_values = [str(v).strip() for v in encoded.dictionary.to_pylist()]
    value_codes, values = pd.factorize(pd.Series(raw_values, dtype=object))
    lookup = value_codes.astype("int64")
    values = np.asarray(values, dtype=object)
    empty = np.flatnonzero(values == "")
    if len(empty):
        lookup[lookup == empty[0]] = -1
        lookup[lookup > empty[0]] -= 1
        values = np.delete(values, empty[0])
    return lookup[encoded.indices.to_numpy(zero_copy_only=False)], values


def _seconds(text: npt.NDArray[np.object_]) -> npt.NDArray[np.int64]:
    """Seconds of ``H:MM:SS`` texts (hours may exceed 24); -1 when unreadable."""
    parts = pd.Series(text, dtype=object).str.extract(r"^(\d{1,3}):([0-5]\d):([0-5]\d)$")
    numbers = parts.apply(pd.to_numeric).to_numpy(dtype="float64")
    seconds = numbers @ np.array([3600.0, 60.0, 1.0])
    return np.where(np.isnan(seconds), -1, seconds).astype("int64")


def _stop_times(table: pa.Table | None, notes: list[str]) -> pd.DataFrame:
    if table is None or table.num_rows == 0:
        return pd.DataFrame(
            {
                "trip_id": pd.Categorical([]),
                "stop_id": pd.Categorical([]),
                "departure_s": pd.array([], dtype="Int32"),
                "stop_sequence": pd.array([], dtype="Int32"),
            }
        )
    trip_codes, trips = _encode(table.column("trip_id"))
    stop_codes, stops = _encode(table.column("stop_id"))
    time_codes, times = _encode(table.column("departure_time"))
    per_time = _seconds(times)
    seconds = np.append(per_time, -1)[time_codes]  # code -1 (empty) takes the appended -1
    empty = int((time_codes < 0).sum())
    invalid = int((seconds < 0).sum()) - empty
    if empty:
        notes.append(
            f"stop_times.txt : {empty} passage(s) sans heure de départ (arrêts non horaires) : "
            "comptés dans les départs du jour, pas dans les départs par heure"
        )
    if invalid:
        notes.append(
            f"stop_times.txt : {invalid} heure(s) de départ illisible(s), traitées comme vides"
        )
    departure = pd.array(seconds, dtype="Int32")
    departure[seconds < 0] = pd.NA
    return pd.DataFrame(
        {
            "trip_id": pd.Categorical.from_codes(
                trip_codes, categories=pd.Index(trips, dtype="str")
            ),
            "stop_id": pd.Categorical.from_codes(
                stop_codes, categories=pd.Index(stops, dtype="str")
            ),
            "departure_s": departure,
            "stop_sequence": _sequence(table, notes),
        }
    )


def _sequence(table: pa.Table, notes: list[str]) -> pd.api.extensions.ExtensionArray:
    """``stop_sequence`` as ``Int32`` (``NA`` when absent or not a whole number ≥ 0)."""
    if "stop_sequence" not in table.column_names:
        return pd.array([pd.NA] * table.num_rows, dtype="Int32")
    codes, values = _encode(table.column("stop_sequence"))
    numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(
        dtype="float64"
    )
    whole = (numbers >= 0) & (numbers == np.round(numbers)) & (numbers < 2**31)
    per_value = np.where(whole, numbers, -1).astype("int64")
    sequence = np.append(per_value, -1)[codes]
    unreadable = int((sequence < 0).sum())
    if unreadable:
        notes.append(
            f"stop_times.txt : {unreadable} stop_sequence vide(s) ou illisible(s) : l'ordre "
            "des arrêts des trajets est pris dans l'ordre du fichier"
        )
    result = pd.array(sequence.astype("int32"), dtype="Int32")
    result[sequence < 0] = pd.NA
    return result


def _calendar(table: pa.Table | None, notes: list[str]) -> pd.DataFrame:
    frame = _frame(table, "calendar.txt")
    out = pd.DataFrame({"service_id": frame["service_id"].astype("str")})
    for day in WEEKDAYS:
        out[day] = pd.to_numeric(frame[day], errors="coerce").fillna(0).astype("int8")
    for column in ("start_date", "end_date"):
        out[column] = pd.to_datetime(frame[column], format="%Y%m%d", errors="coerce")
    bad = out["start_date"].isna() | out["end_date"].isna()
    if bad.any():
        notes.append(f"calendar.txt : {int(bad.sum())} service(s) aux dates illisibles ignoré(s)")
    return out.loc[~bad].reset_index(drop=True)


def _calendar_dates(table: pa.Table | None, notes: list[str]) -> pd.DataFrame:
    frame = _frame(table, "calendar_dates.txt")
    out = pd.DataFrame(
        {
            "service_id": frame["service_id"].astype("str"),
            "date": pd.to_datetime(frame["date"], format="%Y%m%d", errors="coerce"),
            "exception_type": pd.to_numeric(frame["exception_type"], errors="coerce"),
        }
    )
    bad = out["date"].isna() | ~out["exception_type"].isin([1, 2])
    if bad.any():
        notes.append(f"calendar_dates.txt : {int(bad.sum())} exception(s) illisible(s) ignorée(s)")
    out = out.loc[~bad].reset_index(drop=True)
    return out.astype({"exception_type": "int8"})


# --------------------------------------------------------------------------- service days


def _as_date(day: date) -> date:
    return date(day.year, day.month, day.day)


def active_services(feed: GtfsFeed, day: date) -> set[str]:
    """Service ids running on ``day``.

    ``calendar`` weekday flags and validity, then ``calendar_dates`` exceptions (type 1 adds
    the service, type 2 removes it).

    Examples
    --------
    >>> feed = GtfsFeed(
    ...     agency=pd.DataFrame(), stops=pd.DataFrame(), routes=pd.DataFrame(),
    ...     trips=pd.DataFrame(), stop_times=pd.DataFrame(),
    ...     calendar=pd.DataFrame({"service_id": ["S"], **{d: [1] for d in WEEKDAYS},
    ...         "start_date": [pd.Timestamp("2026-01-01")],
    ...         "end_date": [pd.Timestamp("2026-12-31")]}),
    ...     calendar_dates=pd.DataFrame({"service_id": ["S"],
    ...         "date": [pd.Timestamp("2026-05-01")], "exception_type": [2]}))
    >>> active_services(feed, date(2026, 5, 1)), active_services(feed, date(2026, 5, 4))
    (set(), {'S'})
    """
    ts = pd.Timestamp(_as_date(day))
    services: set[str] = set()
    cal = feed.calendar
    if len(cal):
        running = (
            (cal[WEEKDAYS[ts.weekday()]] == 1) & (cal["start_date"] <= ts) & (cal["end_date"] >= ts)
        )
        services.update(cal.loc[running, "service_id"].tolist())
    dates = feed.calendar_dates
    if len(dates):
        today = dates.loc[dates["date"] == ts]
        services.update(today.loc[today["exception_type"] == 1, "service_id"].tolist())
        services.difference_update(today.loc[today["exception_type"] == 2, "service_id"].tolist())
    return services


def require_schedule(feed: GtfsFeed) -> None:
    """Raise a French ``ValidationError`` unless the feed has its timetables (stop times)."""
    if not feed.has_schedule:
        missing = [
            name
            for name, ok in (
                ("stop_times.txt", len(feed.stop_times) > 0),
                ("trips.txt", len(feed.trips) > 0),
                (
                    "calendar.txt ou calendar_dates.txt",
                    bool({"calendar.txt", "calendar_dates.txt"} & feed.files),
                ),
            )
            if not ok
        ]
        raise ValidationError(
            f"départs par arrêt non calculables : {', '.join(missing)} absent(s) du flux GTFS"
        )


def _day_events(feed: GtfsFeed, day: date) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Stop code and clock second of each departure on calendar day ``day``.

    Stop codes are in ``stop_times.stop_id`` categories; the second is ``-1`` when the time
    is unknown.
    """
    st = feed.stop_times
    day = _as_date(day)
    trip_codes = st["trip_id"].cat.codes.to_numpy()
    service_of_trip = (
        feed.trips.drop_duplicates("trip_id")
        .set_index("trip_id")["service_id"]
        .reindex(st["trip_id"].cat.categories)
    )
    today = np.append(service_of_trip.isin(active_services(feed, day)).to_numpy(), False)
    yesterday = np.append(
        service_of_trip.isin(active_services(feed, day - timedelta(days=1))).to_numpy(), False
    )
    seconds = st["departure_s"].to_numpy(dtype="int64", na_value=-1)
    stop_codes = st["stop_id"].cat.codes.to_numpy().astype("int64")
    from_today = today[trip_codes] & (seconds < DAY_S)
    from_yesterday = yesterday[trip_codes] & (seconds >= DAY_S) & (seconds < 2 * DAY_S)
    codes = np.concatenate([stop_codes[from_today], stop_codes[from_yesterday]])
    clock = np.concatenate([seconds[from_today], seconds[from_yesterday] - DAY_S])
    keep = codes >= 0
    return codes[keep], clock[keep]


def departures_per_stop(
    feed: GtfsFeed, day: date, *, hours: tuple[int, int] | None = None
) -> pd.Series:
    """Number of departures (stop events) at each served stop on calendar day ``day``.

    Parameters
    ----------
    feed
        A feed with ``stop_times``, ``trips`` and a calendar (:attr:`GtfsFeed.has_schedule`).
    day
        Calendar day; trips of the day before that run after midnight count too.
    hours
        Optional clock-hour window ``[h0, h1)``, ``0 <= h0 < h1 <= 24``; stop events
        without a time are then left out.

    Returns
    -------
    pandas.Series
        ``int64`` counts indexed by ``stop_id`` (every stop of ``feed.stops``, 0 when not
        served), named ``departs``.

    Raises
    ------
    ValidationError
        The feed cannot give departures (missing files), or ``hours`` is not a window.
    """
    require_schedule(feed)
    codes, clock = _day_events(feed, day)
    if hours is not None:
        h0, h1 = hours
        if not (0 <= h0 < h1 <= 24):
            raise ValidationError(f"plage horaire invalide {hours} : attendu 0 ≤ début < fin ≤ 24")
        inside = (clock >= h0 * 3600) & (clock < h1 * 3600)
        codes = codes[inside]
    categories = feed.stop_times["stop_id"].cat.categories
    counts = pd.Series(np.bincount(codes, minlength=len(categories)), index=categories)
    result = counts.reindex(feed.stops["stop_id"], fill_value=0).astype("int64")
    result.index.name = "stop_id"
    return result.rename("departs")


def departures_by_hour(feed: GtfsFeed, day: date) -> pd.DataFrame:
    """Departures per stop (rows, ``stop_id``) and clock hour (columns 0 … 23) on ``day``.

    Stop events without a time are left out. Raises :class:`ValidationError` like
    :func:`departures_per_stop`.
    """
    require_schedule(feed)
    codes, clock = _day_events(feed, day)
    known = clock >= 0
    categories = feed.stop_times["stop_id"].cat.categories
    cells = codes[known] * 24 + clock[known] // 3600
    grid = np.bincount(cells, minlength=len(categories) * 24).reshape(len(categories), 24)
    frame = pd.DataFrame(grid, index=categories, columns=list(range(24)))
    frame = frame.reindex(feed.stops["stop_id"], fill_value=0).astype("int64")
    frame.index.name = "stop_id"
    return frame


def stop_hours_table(feed: GtfsFeed, *, week_start: date) -> pd.DataFrame:
    """Departures per stop, weekday and clock hour over the week starting ``week_start``.

    Parameters
    ----------
    feed
        A GTFS feed with a schedule (:attr:`GtfsFeed.has_schedule`).
    week_start
        First day of the reference week (snapped back to its Monday). Each of its seven
        days is counted with its own calendar (public holidays included).

    Returns
    -------
    pandas.DataFrame
        ``stop_id`` (str), ``weekday`` (0 = Monday), ``hour`` (0-23), ``departs`` (int),
        only rows with at least one departure.
    """
    monday = week_start - timedelta(days=week_start.weekday())
    frames = []
    for offset in range(7):
        grid = departures_by_hour(feed, monday + timedelta(days=offset))
        values = grid.to_numpy()
        stop_pos, hour = np.nonzero(values)
        frames.append(
            pd.DataFrame(
                {
                    "stop_id": grid.index.to_numpy(dtype=object)[stop_pos],
                    "weekday": offset,
                    "hour": hour,
                    "departs": values[stop_pos, hour],
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    return out.astype({"stop_id": "str", "weekday": "int64", "hour": "int64", "departs": "int64"})


def reference_weekday(feed: GtfsFeed, *, today: date) -> date:
    """A typical weekday (a Tuesday) inside the feed's validity period, close to ``today``.

    The Tuesdays of the validity period are tried from the nearest (on or after
    ``today`` first); the first one running at least 80 % of the trips of the busiest of
    the five nearest Tuesdays wins, which skips public holidays and odd days. Without any
    calendar, the first Tuesday on or after ``today`` is returned.
    """
    today = _as_date(today)
    first, last = _validity(feed)
    if first is None or last is None:
        return today + timedelta(days=(1 - today.weekday()) % 7)
    start = first + timedelta(days=(1 - first.weekday()) % 7)
    end = last - timedelta(days=(last.weekday() - 1) % 7)
    if start > end:  # validity shorter than a week, without a Tuesday: its first day
        return first
    tuesdays = [start + timedelta(weeks=k) for k in range((end - start).days // 7 + 1)]
    tuesdays.sort(key=lambda d: (d < today, abs((d - today).days)))
    weights = [_day_weight(feed, d) for d in tuesdays[:5]]
    best = max(weights)
    for index, day in enumerate(tuesdays):
        weight = weights[index] if index < len(weights) else _day_weight(feed, day)
        if weight >= 0.8 * best:
            return day
    return tuesdays[0]


def _day_weight(feed: GtfsFeed, day: date) -> int:
    """Trips running on ``day`` (services when the feed has no trips)."""
    services = active_services(feed, day)
    if len(feed.trips):
        return int(feed.trips["service_id"].isin(services).sum())
    return len(services)


def _validity(feed: GtfsFeed) -> tuple[date | None, date | None]:
    starts: list[pd.Timestamp] = []
    ends: list[pd.Timestamp] = []
    if len(feed.calendar):
        starts.append(feed.calendar["start_date"].min())
        ends.append(feed.calendar["end_date"].max())
    added = feed.calendar_dates.loc[feed.calendar_dates["exception_type"] == 1, "date"]
    if len(added):
        starts.append(added.min())
        ends.append(added.max())
    if not starts:
        return None, None
    return min(starts).date(), max(ends).date()


# --------------------------------------------------------------------------- layers


def _line_names(feed: GtfsFeed) -> pd.Series:
    """Route names serving each stop (``", "``-joined, natural order), over the whole feed."""
    st = feed.stop_times
    empty = pd.Series("", index=feed.stops["stop_id"], dtype="str")
    if st.empty or feed.trips.empty:
        return empty
    routes = feed.routes.drop_duplicates("route_id").set_index("route_id")
    short = routes.get("route_short_name", pd.Series("", index=routes.index, dtype="str"))
    long = routes.get("route_long_name", pd.Series("", index=routes.index, dtype="str"))
    name_of_route = short.where(short.fillna("") != "", long).fillna("")
    route_of_trip = (
        feed.trips.drop_duplicates("trip_id")
        .set_index("trip_id")["route_id"]
        .reindex(st["trip_id"].cat.categories)
    )
    names = route_of_trip.map(name_of_route)
    names = names.where(names.fillna("") != "", route_of_trip)
    distinct = sorted({str(n) for n in names.dropna()}, key=_natural)
    if not distinct:
        return empty
    rank = {name: k for k, name in enumerate(distinct)}
    trip_rank = np.array([rank.get(str(n), -1) if pd.notna(n) else -1 for n in names] + [-1])
    row_rank = trip_rank[st["trip_id"].cat.codes.to_numpy()]
    stop_codes = st["stop_id"].cat.codes.to_numpy().astype("int64")
    valid = (row_rank >= 0) & (stop_codes >= 0)
    n_stops, width = len(st["stop_id"].cat.categories), len(distinct)
    if n_stops * width <= 50_000_000:
        seen = np.zeros(n_stops * width, dtype=bool)
        seen[stop_codes[valid] * width + row_rank[valid]] = True
        pairs = np.flatnonzero(seen)
    else:
        pairs = np.unique(stop_codes[valid] * width + row_rank[valid])
    stop_of_pair, name_of_pair = pairs // width, pairs % width
    labels = np.asarray(distinct, dtype=object)[name_of_pair]
    bounds = np.flatnonzero(np.diff(stop_of_pair)) + 1
    starts = np.r_[0, bounds]
    joined = pd.Series(
        [", ".join(chunk) for chunk in np.split(labels, bounds)] if len(pairs) else [],
        index=st["stop_id"].cat.categories[stop_of_pair[starts]] if len(pairs) else [],
        dtype="str",
    )
    return joined.reindex(feed.stops["stop_id"], fill_value="").astype("str")


def _natural(name: str) -> tuple[int, int, str]:
    return (0, int(name), name) if name.isdigit() else (1, 0, name)


def stops_layer(feed: GtfsFeed, *, day: date) -> gpd.GeoDataFrame:
    """The ``stops`` layer: served stops with their departures on ``day`` and their lines.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326 points with ``stop_id``, ``nom``, ``departs_jour`` (``Int64``, ``NA``
        when the feed cannot give departures), ``lignes`` (route short names, ``", "``,
        ``""`` when unknown), ``station`` (the ``parent_station`` grouping the stop, a
        ``location_type`` 1 station, or ``""``) and ``ferre`` (served by a train or metro
        route: ``route_type`` 1, 2, 100–199 or 400–499): what tells a station from a bus
        stop among the candidate places.
    """
    stops = feed.stops
    if feed.has_schedule:
        departs = pd.array(departures_per_stop(feed, day).to_numpy(), dtype="Int64")
    else:
        departs = pd.array([pd.NA] * len(stops), dtype="Int64")
    return gpd.GeoDataFrame(
        {
            "stop_id": stops["stop_id"].to_numpy(),
            "nom": stops["stop_name"].to_numpy(),
            "departs_jour": departs,
            "lignes": _line_names(feed).to_numpy(),
            "station": stops["parent_station"].fillna("").to_numpy(),
            "ferre": _rail_stops(feed),
        },
        geometry=gpd.points_from_xy(stops["stop_lon"], stops["stop_lat"]),
        crs="EPSG:4326",
    ).astype({"stop_id": "str", "nom": "str", "lignes": "str", "station": "str"})


def _rail_stops(feed: GtfsFeed) -> npt.NDArray[np.bool_]:
    """Whether each stop is served by a train or metro route (not bus, tram or ferry)."""
    none = np.zeros(len(feed.stops), dtype=bool)
    routes, st = feed.routes, feed.stop_times
    if st.empty or feed.trips.empty or "route_type" not in routes:
        return none
    kind = pd.to_numeric(routes["route_type"], errors="coerce")
    rail = kind.isin([1, 2]) | kind.between(100, 199) | kind.between(400, 499)
    trips = feed.trips.loc[feed.trips["route_id"].isin(set(routes.loc[rail, "route_id"]))]
    if trips.empty:
        return none
    served = st.loc[st["trip_id"].isin(set(trips["trip_id"])), "stop_id"]
    found: npt.NDArray[np.bool_] = (
        feed.stops["stop_id"].isin(set(served.astype(str))).to_numpy(dtype=bool)
    )
    return found


def _area_geometry(
    area: gpd.GeoDataFrame | gpd.GeoSeries | BaseGeometry, metric_crs: str
) -> BaseGeometry:
    if isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        if area.crs is None:
            raise CRSError(
                "zone d'étude sans système de coordonnées : attendu EPSG:4326 (ou tout CRS "
                "déclaré), trouvé aucun"
            )
        geometry = area.to_crs(metric_crs).union_all()
    else:
        xmin, ymin, xmax, ymax = area.bounds
        if not (-180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90):
            raise CRSError(
                "zone d'étude : une géométrie shapely doit être en degrés EPSG:4326 ; "
                f"emprise trouvée ({xmin:g}, {ymin:g}, {xmax:g}, {ymax:g}) ; passez un "
                "GeoDataFrame avec son CRS"
            )
        geometry = gpd.GeoSeries([area], crs="EPSG:4326").to_crs(metric_crs).iloc[0]
    return shapely.make_valid(geometry)


def _polygonal(geometry: BaseGeometry) -> BaseGeometry:
    parts = [p for p in shapely.get_parts(geometry) if p.geom_type in ("Polygon", "MultiPolygon")]
    polygons = [q for p in parts for q in shapely.get_parts(p)]
    return shapely.MultiPolygon(polygons) if polygons else shapely.MultiPolygon()


_UNKNOWN_HOURS = (
    "Horaires de transport inconnus : flux GTFS sans horaires (stop_times ou calendar "
    "absents), arrêts ni desservis ni zones blanches"
)


def service_gaps(
    area: gpd.GeoDataFrame | gpd.GeoSeries | BaseGeometry,
    stops: gpd.GeoDataFrame,
    *,
    buffer_m: float = 500.0,
    min_departures: int = 1,
    metric_crs: str = METRIC_CRS,
    explode: bool = False,
) -> gpd.GeoDataFrame:
    """Zones blanches: the parts of ``area`` farther than ``buffer_m`` from any served stop.

    Parameters
    ----------
    area
        Study area: a GeoDataFrame/GeoSeries with a CRS, or a shapely geometry in EPSG:4326.
    stops
        The stops layer (:func:`stops_layer`) of one feed. A stop is served when
        ``departs_jour >= min_departures``; when departures are unknown (all ``NA`` or no
        column, a feed without timetables) no stop is served and nothing is a zone
        blanche: the whole area comes back as « horaires de transport inconnus ».
    buffer_m
        Walking distance to a stop, in metres.
    min_departures
        Departures on the reference day for a stop to count.
    metric_crs
        Projected CRS for the buffers (Lambert-93; use the local UTM overseas).
    explode
        One row per polygon instead of one (Multi)Polygon row.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326, columns ``etat`` (``"zone blanche"`` or ``"horaires de transport
        inconnus"``) and ``label``; no row when the whole area is served. The workspace's
        ``service_gaps`` layer, over several feeds and with the areas no feed covers, is
        :func:`territory.analysis.transit_coverage.transit_areas`.
    """
    if buffer_m <= 0:
        raise ValidationError(f"buffer_m (distance à un arrêt) doit être positif, reçu {buffer_m}")
    if stops.crs is None:
        raise CRSError("couche des arrêts sans système de coordonnées : attendu EPSG:4326")
    region = _area_geometry(area, metric_crs)
    known = "departs_jour" in stops and bool(stops["departs_jour"].notna().any())
    if not known:  # stops without timetables are not served: nothing is a zone blanche
        unknown = _polygonal(region)
        return (
            gpd.GeoDataFrame(
                {"etat": ["horaires de transport inconnus"], "label": [_UNKNOWN_HOURS]},
                geometry=[unknown],
                crs=metric_crs,
            )
            .iloc[: 0 if unknown.is_empty else 1]
            .to_crs("EPSG:4326")
        )
    served = stops.loc[stops["departs_jour"].fillna(0).to_numpy() >= min_departures]
    label = f"Zone blanche : aucun arrêt desservi à moins de {buffer_m:g} m"
    if min_departures > 1:
        label += f" (au moins {min_departures} départs dans la journée)"
    points = served.geometry.to_crs(metric_crs).to_numpy()
    points = points[~(shapely.is_missing(points) | shapely.is_empty(points))]
    if len(points):
        xmin, ymin, xmax, ymax = region.bounds
        near = shapely.intersects(
            points, shapely.box(xmin - buffer_m, ymin - buffer_m, xmax + buffer_m, ymax + buffer_m)
        )
        covered = shapely.union_all(shapely.buffer(points[near], buffer_m, quad_segs=8))
        gap = _polygonal(shapely.difference(region, covered))
    else:
        gap = _polygonal(region)
    if gap.is_empty:
        result = gpd.GeoDataFrame(
            {"etat": pd.Series([], dtype="str"), "label": pd.Series([], dtype="str")},
            geometry=[],
            crs=metric_crs,
        )
    else:
        result = gpd.GeoDataFrame(
            {"etat": ["zone blanche"], "label": [label]}, geometry=[gap], crs=metric_crs
        )
        if explode:
            result = result.explode(index_parts=False).reset_index(drop=True)
    return result.to_crs("EPSG:4326")
