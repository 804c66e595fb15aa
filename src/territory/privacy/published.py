"""Published contact figures: read through :mod:`~territory.privacy.raw`, protected at once.

What views and analysis know about contacts comes from here, already through
:mod:`territory.privacy.protect`: densities, totals, zone counts over two windows, the
weekday × slot profile, the months and quarters the data spans. No function returns a
raw count; the contact rows of :mod:`territory.privacy.raw` live only inside them.

Every figure below a commune reads **one protected partition** (:func:`zones`, made
once per state of the file from every contact): a 1 km cell, a QPV or a zone's profile
counts the contacts of the partition's zones that lie inside it, and the contacts that
the partition merged into the rest of their commune are counted in no sub-commune unit.

The contacts are read once per state of the file (path, modification time, write
counter) and kept compact in memory: a second view, another filter or another zone
costs a few milliseconds, and any write, here or by another process, reads them again.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from territory.store import Workspace
>>> ws = Workspace.create(Path(tempfile.mkdtemp()) / "w.gpkg", name="Vide")
>>> s = Settings()
>>> contact_total(ws, scope=None, settings=s), latest_month(ws, settings=s)
('0', None)
>>> quarters(ws, settings=s), published_months(ws, settings=s)
([], [])
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import TypeVar, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from territory.grid import child_ids, parent_ids
from territory.privacy import raw
from territory.privacy.protect import (
    LEVEL_CELL,
    LEVEL_KM,
    TALLY,
    partition,
    place,
    protect,
    protect_density,
    protect_density_by,
    protect_rows,
    protect_total,
    tally,
)
from territory.settings import Settings
from territory.store import Workspace
from territory.vocab import UNKNOWN

__all__ = [
    "FILTERS",
    "WINDOW_PARTS",
    "SlotCounts",
    "SlotSet",
    "contact_total",
    "count_before",
    "density",
    "density_by",
    "latest_month",
    "published_months",
    "quarters",
    "slot_profiles",
    "zone_window_counts",
    "zones",
]

K = TypeVar("K", bound=Hashable)
FILTERS = ("periode", "statut", "tranche_age", "sexe")
"""The filters of the density map (one partition of the contacts each)."""
WINDOW_PARTS = ("contacts_recents", "contacts_precedents", "hors_radars", "autres")
"""The parts of :func:`zone_window_counts`: recent, previous, recent of the status, others."""
_REST = "__hors_zones__"  # the part holding the contacts of the scope outside every zone
_COLUMNS = ("date", "hour", "statut", "tranche_age", "sexe")


def density(ws: Workspace, *, settings: Settings) -> pd.DataFrame:
    """The protected contact density of the whole workspace, on :func:`zones`.

    Kept per state of the file and protection parameters (a copy is returned): the
    filters of :func:`density_by` start from it.
    """
    _contacts(ws)  # migrated, read
    state = (ws.key, ws.changed_ns, ws.version)
    return _density(*state, settings.k, settings.rounding).copy()


@lru_cache(maxsize=4)
def _density(path: str, mtime_ns: int, version: int, k: int, rounding: int) -> pd.DataFrame:
    settings = Settings(k=k, rounding=rounding)  # protection reads nothing else
    frame = _read_contacts(path, mtime_ns, version)
    return protect_density(frame, settings=settings, zones=_zones(path, mtime_ns, version, k))


def density_by(
    ws: Workspace, by: str, *, parts: list[str] | None, settings: Settings
) -> pd.DataFrame:
    """The protected density split by one filter of :data:`FILTERS` (all its parts)."""
    if by not in FILTERS:
        raise ValueError(f"filtre inconnu : {by}")
    frame = _contacts(ws)
    part = _quarter(frame["date"]) if by == "periode" else frame[by]
    return protect_density_by(
        frame.assign(part=part),
        settings=settings,
        parts=parts,
        zones=zones(ws, settings=settings),
        whole_map=density(ws, settings=settings),
    )


def zones(ws: Workspace, *, settings: Settings) -> pd.DataFrame:
    """The protected partition of every contact: the zone of each (cell, commune).

    See :func:`territory.privacy.protect.partition`; kept per state of the file.
    """
    return _zones(ws.key, ws.changed_ns, ws.version, settings.k)


def published_months(ws: Workspace, *, settings: Settings) -> list[str]:
    """The months (``"2026-03"``) in which at least ``k`` distinct people were met.

    The only dates said about the contact layer come from these months: a month of a few
    people would tell when they were met. Kept per state of the file.
    """
    _contacts(ws)  # migrated, read
    return list(_published_months(ws.key, ws.changed_ns, ws.version, settings.k))


@lru_cache(maxsize=8)
def _published_months(path: str, mtime_ns: int, version: int, k: int) -> tuple[str, ...]:
    frame = _read_contacts(path, mtime_ns, version)
    if frame.empty:
        return ()
    month = frame["date"].to_numpy().astype("datetime64[M]")
    people = frame.groupby(month)["person"].nunique()
    return tuple(str(m)[:7] for m in people.index[people.to_numpy() >= k].to_numpy())


def quarters(ws: Workspace, *, settings: Settings) -> list[str]:
    """The calendar quarters (``"2026-T1"``) from the first to the last published month."""
    months = published_months(ws, settings=settings)
    if not months:
        return []
    return [f"{q.year}-T{q.quarter}" for q in pd.period_range(months[0], months[-1], freq="Q")]


def latest_month(ws: Workspace, *, settings: Settings) -> date | None:
    """First day of the latest published month (None when no month has ``k`` people)."""
    months = published_months(ws, settings=settings)
    return None if not months else date.fromisoformat(f"{months[-1]}-01")


def contact_total(ws: Workspace, *, scope: set[str] | None, settings: Settings) -> str:
    """The published number of contacts of ``scope`` (None: everything), as a label.

    Perturbed like every count: the totals of two overlapping territories differ by
    noise, not by the contacts that differ.
    """
    frame = _contacts(ws)
    if scope is not None:
        frame = frame[frame["commune"].isin(scope)]
    return protect_total(frame, settings=settings).total_label


def count_before(ws: Workspace, cutoff: date, *, settings: Settings) -> str:
    """The published number of contacts dated before ``cutoff`` (what a purge deletes).

    A purge's own count would be exact: fake contacts imported, then purged with the
    real ones, would tell how many real contacts there were.
    """
    frame = _contacts(ws)
    return protect_total(frame[frame["date"] < pd.Timestamp(cutoff)], settings=settings).total_label


def zone_window_counts(
    ws: Workspace,
    zone_codes: Mapping[K, Sequence[str]],
    attribute: Callable[[npt.NDArray[np.object_]], Mapping[K, npt.NDArray[np.object_] | None]],
    *,
    recent: tuple[date, date],
    previous: tuple[date, date],
    status: str,
    settings: Settings,
    communes: Collection[str] | None = None,
) -> dict[K, dict[str, pd.DataFrame]]:
    """Protected contact counts per zone over two windows, for several zone sets.

    Contacts are placed on the protected partition (:func:`zones`); a zone of a set
    counts the partition's zones inside it (the 200 m and 1 km zones whose cells
    ``attribute`` gives it, a 1 km zone only when every cell of its square belongs to
    the same zone); contacts of zones inside none, and of the rest of a commune, are one
    more part (so that the total of the scope cannot be used to recover a hidden zone).
    Each of :data:`WINDOW_PARTS` goes through :func:`~territory.privacy.protect.protect`.

    Parameters
    ----------
    ws
        The workspace.
    zone_codes
        The unique codes of each zone set.
    attribute
        Given 200 m cell ids (those holding contacts and every cell of the partition's
        1 km zones), the zone code of each cell for each zone set (None outside every
        zone); a set mapped to None (not an array) counts each contact in its commune.
    recent, previous
        The windows (inclusive dates; ``previous`` ends the day before ``recent``).
    status
        The status counted apart (``hors_radars`` part; the others are ``autres``).
    settings
        Gives ``k`` and ``rounding``.
    communes
        Scope: only the contacts of these communes are counted.

    Returns
    -------
    dict
        Per zone set, per part, the protected table (``count``, ``label``, ``status``)
        indexed by zone code in the order of ``zone_codes``.
    """
    frame = _contacts(ws)
    if communes is not None:
        frame = frame[frame["commune"].isin(set(communes))]
    start, end = pd.Timestamp(previous[0]), pd.Timestamp(recent[1])
    frame = frame[(frame["date"] >= start) & (frame["date"] <= end)]
    placed = place(frame, zones(ws, settings=settings))
    is_recent = (placed["date"] >= pd.Timestamp(recent[0])).to_numpy()
    is_status = (placed["statut"] == status).to_numpy(dtype=bool)
    windows = {
        "contacts_recents": is_recent,
        "contacts_precedents": ~is_recent,
        "hors_radars": is_recent & is_status,
        "autres": is_recent & ~is_status,
    }
    cells = np.asarray(_present(placed["cell"]), dtype=object)
    squares = _present(placed.loc[placed["level"] == LEVEL_KM, "zone"])
    children = np.asarray(child_ids(squares) if len(squares) else [], dtype=object)
    looked_up = np.asarray(list(dict.fromkeys([*cells, *children])), dtype=object)
    owners = attribute(looked_up)
    out: dict[K, dict[str, pd.DataFrame]] = {}
    for kind, codes in zone_codes.items():
        owner = owners.get(kind)
        if owner is None:
            unit = _per_category(placed["commune"], dict(zip(codes, codes, strict=True)).get)
        else:
            unit = _units(placed, pd.Series(owner, index=looked_up))
        out[kind] = {}
        for name, rows in windows.items():
            subset = placed.loc[rows, ["person", "n", "key"]].assign(unit=unit[rows])
            parts = tally(subset, "unit").reindex([*codes, _REST], fill_value=0)
            protected = protect(
                parts[TALLY], settings=settings, total_people=int(subset["person"].nunique())
            )
            out[kind][name] = protected.table.iloc[:-1]
    return out


@dataclass(frozen=True)
class SlotCounts:
    """The protected weekday × slot profile of one set of contacts (a zone, a parent).

    Attributes
    ----------
    table
        One row per slot, in the order asked: ``count`` (Int64, NA when suppressed),
        ``label``, ``status`` (:func:`~territory.privacy.protect.protect`).
    total
        The published number of contacts of the set, at every hour (the slots plus
        the contacts outside them); None when fewer than k people, 0 when none.
    people
        The published number of distinct people of the set (perturbed and rounded like
        a count, see :func:`slot_profiles`); None when fewer than k, 0 when none.
    """

    table: pd.DataFrame
    total: int | None
    people: int | None


SlotSet = tuple[Collection[str] | None, Collection[str] | None]
"""Whose profile: ``(communes, cells)`` — the contacts of these communes, or those of the
partition's zones inside these 200 m cells; ``(None, None)`` for the whole scope."""


def slot_profiles(
    ws: Workspace,
    *,
    period: tuple[date, date],
    slots: pd.MultiIndex,
    slot_hours: int,
    settings: Settings,
    sets: Sequence[SlotSet],
    communes: Collection[str] | None = None,
) -> list[SlotCounts]:
    """The protected weekday × slot profiles of several sets of contacts (zone, parents).

    Contacts of ``period`` (and of ``communes`` when given) are counted per slot of
    ``slots`` (levels ``jour``, 0 = Monday, and ``debut``, the slot's first hour; each
    slot lasts ``slot_hours``), plus one part for the contacts outside those hours. Each
    set goes through :func:`~territory.privacy.protect.protect` on its own (threshold k
    on people, secondary suppression, cell-key perturbation, rounding): the sets
    overlap (a zone, its commune, its EPCI, the territory) and, as ``privacy.md`` rule 4
    says, overlapping aggregates differ by noise, not by the people who differ. A zone
    (``(None, cells)``) counts the contacts of the partition's zones inside its cells,
    never finer (rule 2).

    The number of **people** of a set is published through the same step: one part
    whose value is the number of distinct people and whose key is the sum of the keys
    of the records it counts, thresholded at k, perturbed and rounded like any count.

    Returns
    -------
    list of SlotCounts
        One per set, in the order of ``sets``.
    """
    _contacts(ws)  # migrated, read
    state = (ws.key, ws.changed_ns, ws.version)
    scope = None if communes is None else frozenset(communes)
    singles = _commune_batch(*state, period, tuple(slots), slot_hours, scope, settings)
    return [
        singles[next(iter(set_communes))]
        if set_communes is not None
        and len(set_communes) == 1
        and cells is None
        and next(iter(set_communes)) in singles
        else _slot_counts(
            state,
            period,
            tuple(slots),
            slot_hours,
            scope,
            None if set_communes is None else frozenset(set_communes),
            None if cells is None else frozenset(cells),
            settings,
        )
        for set_communes, cells in sets
    ]


@lru_cache(maxsize=2048)
def _slot_counts(
    state: tuple[str, int, int],
    period: tuple[date, date],
    slots: tuple[tuple[int, int], ...],
    slot_hours: int,
    scope: frozenset[str] | None,
    set_communes: frozenset[str] | None,
    cells: frozenset[str] | None,
    settings: Settings,
) -> SlotCounts:
    """One set's protected profile, kept per state of the file (immutable once made).

    The same records give the same published values, so a zone's parents and the
    territory are protected once for every zone asked.
    """
    slotted, keys = _slotted_cached(*state, period, slots, slot_hours, scope)
    if set_communes is not None:
        rows = _commune_rows(*state, period, slots, slot_hours, scope)
        found = [rows[c] for c in sorted(set_communes) if c in rows]
        records = slotted.iloc[np.sort(np.concatenate(found))] if found else slotted.iloc[:0]
    elif cells is not None:
        placed = _placed_codes(*state, period, slots, slot_hours, scope, settings.k)
        records = slotted.iloc[placed.rows(cells)]
    else:
        records = slotted
    return _protected_slots(records, keys, settings)


@dataclass(frozen=True)
class _Placed:
    """Where each slotted contact lies on the protected partition, as category codes.

    ``cell_rows`` and ``km_rows`` group the positions of the contacts whose zone is their
    200 m cell, and of those whose zone is their 1 km square, by the code of that zone
    (positions, then each code's bounds in them): a zone's contacts are gathered from
    its few codes instead of a mask over every contact (the planner asks for a hundred).
    """

    cells: pd.Index  # the 200 m cells (categories)
    cell_rows: tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]
    squares: pd.Index  # the partition's zones (categories): 1 km squares among them
    km_rows: tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]

    def rows(self, cells: Collection[str]) -> npt.NDArray[np.intp]:
        """Positions, in order, of the contacts of the partition's zones inside ``cells``.

        200 m zones among ``cells`` and the 1 km squares whose 25 cells all are (the
        units of :func:`_units`), read on the codes.
        """
        owner = pd.Series("zone", index=pd.Index(list(cells), dtype=object), dtype=object)
        squares = _whole_squares(owner).index
        found = _positions(self.cells, *self.cell_rows, owner.index) + _positions(
            self.squares, *self.km_rows, squares
        )
        if not found:
            return np.zeros(0, dtype=np.intp)
        return np.sort(np.concatenate(found))


def _grouped(
    codes: npt.NDArray[np.intp], mask: npt.NDArray[np.bool_], size: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Positions of the rows of ``mask`` sorted by code, and each code's bounds in them."""
    positions = np.flatnonzero(mask & (codes >= 0))
    order = np.argsort(codes[positions], kind="stable")
    positions = positions[order]
    bounds = np.searchsorted(codes[positions], np.arange(size + 1))
    return positions, bounds


def _positions(
    categories: pd.Index,
    positions: npt.NDArray[np.intp],
    bounds: npt.NDArray[np.intp],
    values: Collection[str],
) -> list[npt.NDArray[np.intp]]:
    """The row positions of each of ``values`` among the grouped codes (none: [])."""
    wanted = categories.get_indexer(pd.Index(list(values), dtype=object))
    return [positions[bounds[i] : bounds[i + 1]] for i in wanted[wanted >= 0]]


@lru_cache(maxsize=2)
def _placed_codes(
    path: str,
    mtime_ns: int,
    version: int,
    period: tuple[date, date],
    slots: tuple[tuple[int, int], ...],
    slot_hours: int,
    communes: frozenset[str] | None,
    k: int,
) -> _Placed:
    """The slotted contacts on the protected partition (the zones of many sets read it)."""
    slotted, _ = _slotted_cached(path, mtime_ns, version, period, slots, slot_hours, communes)
    placed = place(slotted, _zones(path, mtime_ns, version, k))
    cell = pd.Categorical(placed["cell"])
    zone = pd.Categorical(placed["zone"])
    return _Placed(
        pd.Index(cell.categories.astype(str), dtype=object),
        _grouped(cell.codes, _among(placed["level"], [LEVEL_CELL]), len(cell.categories)),
        pd.Index(zone.categories.astype(str), dtype=object),
        _grouped(zone.codes, _among(placed["level"], [LEVEL_KM]), len(zone.categories)),
    )


@lru_cache(maxsize=2)
def _commune_batch(
    path: str,
    mtime_ns: int,
    version: int,
    period: tuple[date, date],
    slots: tuple[tuple[int, int], ...],
    slot_hours: int,
    communes: frozenset[str] | None,
    settings: Settings,
) -> dict[str, SlotCounts]:
    """Every commune's own protected profile, made together (the planner asks for many).

    Each commune is protected on its own, exactly as :func:`_slot_counts` protects the
    set of that one commune (its slots plus the contacts outside them, then its people):
    the tallies of all communes come from one pass over the contacts and
    :func:`~territory.privacy.protect.protect_rows` does the arithmetic of every
    commune's table at once. Communes without contacts are left out (asked one by one).
    """
    slotted, keys = _slotted_cached(path, mtime_ns, version, period, slots, slot_hours, communes)
    categorical = pd.Categorical(slotted["commune"])
    known = categorical.codes >= 0
    commune = categorical.codes[known].astype(np.int64)
    width = len(keys)
    codes = np.asarray(keys, dtype=np.int64)
    sorter = np.argsort(codes)
    slot = slotted["slot"].to_numpy(dtype=np.int64)[known]
    part = sorter[np.searchsorted(codes, slot, sorter=sorter)]  # every slot code is a key
    n = slotted["n"].to_numpy(dtype=np.int64)[known]
    key = slotted["key"].to_numpy(dtype=np.int64)[known]
    person = slotted["person"].to_numpy(dtype=np.int64)[known]
    size = len(categorical.categories)
    group = commune * width + part
    n_parts = np.bincount(group, weights=n, minlength=size * width).astype(np.int64)
    key_parts = np.bincount(group, weights=key, minlength=size * width).astype(np.int64)
    span = int(person.max()) + 1 if len(person) else 1
    people_parts = np.bincount(_distinct(group * span + person) // span, minlength=size * width)
    people = np.bincount(_distinct(commune * span + person) // span, minlength=size)
    key_sums = np.bincount(commune, weights=key, minlength=size).astype(np.int64)
    present = np.flatnonzero(np.bincount(commune, minlength=size) > 0)
    shape = (size, width)
    tables, totals = protect_rows(
        n_parts.reshape(shape)[present],
        people_parts.reshape(shape)[present],
        key_parts.reshape(shape)[present],
        people[present],
        settings=settings,
    )
    _, heads = protect_rows(
        people[present, None],
        people[present, None],
        key_sums[present, None],
        people[present],
        settings=settings,
    )
    out = {}
    for r, i in enumerate(present):
        shown = tables.iloc[r * width : (r + 1) * width - 1]  # without the outside part
        shown = shown.reset_index(drop=True)
        out[str(categorical.categories[i])] = SlotCounts(shown, totals[r], heads[r])
    return out


def _distinct(values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The distinct values, sorted (a sort: faster here than ``np.unique``'s hash)."""
    ordered = np.sort(values)
    if not len(ordered):
        return ordered
    first = np.concatenate([[True], ordered[1:] != ordered[:-1]])
    return cast("npt.NDArray[np.int64]", ordered[first])


@lru_cache(maxsize=2)
def _commune_rows(
    path: str,
    mtime_ns: int,
    version: int,
    period: tuple[date, date],
    slots: tuple[tuple[int, int], ...],
    slot_hours: int,
    communes: frozenset[str] | None,
) -> dict[str, npt.NDArray[np.intp]]:
    """The positions of each commune's slotted contacts (a commune's profile reads its own)."""
    slotted, _ = _slotted_cached(path, mtime_ns, version, period, slots, slot_hours, communes)
    categorical = pd.Categorical(slotted["commune"])
    order = np.argsort(categorical.codes, kind="stable")
    bounds = np.searchsorted(categorical.codes[order], np.arange(len(categorical.categories) + 1))
    return {
        str(name): order[bounds[i] : bounds[i + 1]]
        for i, name in enumerate(categorical.categories)
        if bounds[i + 1] > bounds[i]
    }


def _among(column: pd.Series, values: Collection[str]) -> npt.NDArray[np.bool_]:
    """Rows of a categorical column whose value is one of ``values``.

    Reads the integer codes through a lookup table: a few milliseconds for a million
    rows, where ``isin`` compares every row (the planner asks for many zones at once).
    """
    categorical = pd.Categorical(column)
    wanted = categorical.categories.get_indexer(pd.Index(list(values), dtype=object))
    lookup = np.zeros(len(categorical.categories) + 1, dtype=bool)  # the last: code -1
    lookup[wanted[wanted >= 0]] = True
    return cast("npt.NDArray[np.bool_]", lookup[categorical.codes])


# ---------------------------------------------------------------------------- private
@lru_cache(maxsize=4)
def _slotted_cached(
    path: str,
    mtime_ns: int,
    version: int,
    period: tuple[date, date],
    slots: tuple[tuple[int, int], ...],
    slot_hours: int,
    communes: frozenset[str] | None,
) -> tuple[pd.DataFrame, list[int]]:
    frame = _read_contacts(path, mtime_ns, version)
    if communes is not None:
        frame = frame[frame["commune"].isin(communes)]
    frame = frame[
        (frame["date"] >= pd.Timestamp(period[0])) & (frame["date"] <= pd.Timestamp(period[1]))
    ]
    index = pd.MultiIndex.from_tuples(slots, names=["jour", "debut"])
    slotted = frame[["cell", "commune", "person", "n", "key"]].assign(
        slot=_slots(frame, index, slot_hours)
    )
    keys = [*(_slot_code(d, h) for d, h in slots), _OUTSIDE_CODE]
    return slotted.reset_index(drop=True), keys


def _contacts(ws: Workspace) -> pd.DataFrame:
    """Every stored contact, compact (:func:`raw.contact_frame`), kept per state of the file.

    ``date`` is a datetime; the categories are categorical. Private: raw rows.
    """
    raw.migrate(ws)  # before the state is read: a migration is a write
    return _read_contacts(ws.key, ws.changed_ns, ws.version)


@lru_cache(maxsize=2)
def _read_contacts(path: str, mtime_ns: int, version: int) -> pd.DataFrame:
    frame = raw.contact_frame(Workspace.open(Path(path)), columns=_COLUMNS)
    frame["date"] = pd.to_datetime(frame["date"])
    frame["hour"] = pd.to_numeric(frame["hour"]).fillna(-1).astype("int64")
    for name in ("statut", "tranche_age", "sexe"):
        frame[name] = _known(frame[name])
    return frame


def _known(column: pd.Series) -> pd.Categorical:
    """A category column where a missing or empty value is « non renseigné »."""
    column = column.astype("category")
    named = [UNKNOWN if c == "" else str(c) for c in column.cat.categories]
    categories = list(dict.fromkeys([*named, UNKNOWN]))
    lookup = np.array([*(categories.index(c) for c in named), categories.index(UNKNOWN)])
    return pd.Categorical.from_codes(lookup[column.cat.codes.to_numpy()], categories=categories)


@lru_cache(maxsize=8)
def _zones(path: str, mtime_ns: int, version: int, k: int) -> pd.DataFrame:
    """The partition of :func:`zones` for one state of the file (immutable once made)."""
    return partition(_read_contacts(path, mtime_ns, version), k=k)


def _quarter(dates: pd.Series) -> pd.Categorical:
    """``"2026-T1"`` for each date (categorical: one string per quarter, not per contact)."""
    code = dates.dt.year.to_numpy() * 4 + (dates.dt.quarter.to_numpy() - 1)
    codes, uniques = pd.factorize(code, sort=True)
    names = [f"{q // 4}-T{q % 4 + 1}" for q in uniques]
    return pd.Categorical.from_codes(codes, categories=names)


def _units(placed: pd.DataFrame, owner: pd.Series) -> npt.NDArray[np.object_]:
    """The unit of each placed contact: its 200 m zone's, or its 1 km zone's when whole.

    A 1 km zone belongs to a unit only when the 25 cells of its square all do (``owner``
    must then know them all); the rest of a commune belongs to none (:data:`_REST`).
    """
    known = owner.dropna()
    owned = dict(zip(known.index.to_numpy(object), known.to_numpy(object), strict=True))
    unit = _per_category(placed["cell"], owned.get)
    whole = _whole_squares(owner)
    squares = dict(zip(whole.index.to_numpy(object), whole.to_numpy(object), strict=True))
    km_unit = _per_category(placed["zone"], squares.get)
    level = np.asarray(placed["level"], dtype=object)
    out = np.where(level == LEVEL_CELL, unit, _REST).astype(object)
    at_km = level == LEVEL_KM
    out[at_km] = km_unit[at_km]
    return out


def _present(column: pd.Series) -> list[str]:
    """The distinct values of a (categorical) column, as text."""
    return [str(v) for v in pd.unique(column)]


def _per_category(
    column: pd.Series, value: Callable[[str], object | None]
) -> npt.NDArray[np.object_]:
    """``value`` of each row's category (:data:`_REST` when None), computed once a category."""
    categorical = pd.Categorical(column)
    lookup = [value(str(c)) for c in categorical.categories]
    table = np.array([_REST if v is None else v for v in [*lookup, None]], dtype=object)
    return cast("npt.NDArray[np.object_]", table[categorical.codes])


def _whole_squares(owner: pd.Series) -> pd.Series:
    """The 1 km squares whose 25 cells (among ``owner``'s index) all have the same unit."""
    known = owner.dropna()
    if known.empty:
        return pd.Series(dtype=object)
    frame = pd.DataFrame({"km": parent_ids(known.index.to_numpy(dtype=object)), "unit": known})
    per = frame.groupby("km")["unit"].agg(["nunique", "size", "first"])
    whole = per[(per["nunique"] == 1) & (per["size"] == 25)]
    return whole["first"]


def _slot_code(day: int, start: int) -> int:
    """The integer code of a slot (weekday, first hour)."""
    return day * 100 + start


_OUTSIDE_CODE = -1  # the slot code of the contacts outside the slots' hours


def _slots(frame: pd.DataFrame, slots: pd.MultiIndex, slot_hours: int) -> npt.NDArray[np.int64]:
    """The slot code (:func:`_slot_code`) of each contact, or :data:`_OUTSIDE_CODE`."""
    starts = sorted(set(slots.get_level_values("debut")))
    h0, h1 = starts[0], starts[-1] + slot_hours
    hour = frame["hour"].to_numpy()
    day = frame["date"].dt.day_of_week.to_numpy()
    start = h0 + (hour - h0) // slot_hours * slot_hours
    codes = np.asarray(day * 100 + start, dtype=np.int64)  # _slot_code, vectorised
    known = np.array([_slot_code(d, h) for d, h in slots], dtype=np.int64)
    outside = (hour < h0) | (hour >= h1) | ~np.isin(codes, known)
    codes[outside] = _OUTSIDE_CODE
    return codes


def _protected_slots(records: pd.DataFrame, keys: list[int], settings: Settings) -> SlotCounts:
    """The protected slots of ``records``, their published total and people."""
    parts = tally(records, "slot").reindex(keys, fill_value=0)
    people = int(records["person"].nunique())
    protected = protect(parts, settings=settings, total_people=people)
    head = pd.DataFrame(
        {"n": [people], "people": [people], "key": [int(records["key"].sum())]},
        index=["people"],
    )
    published_people = protect(head, settings=settings, total_people=people).total
    table = protected.table.drop(index=_OUTSIDE_CODE).reset_index(drop=True)
    return SlotCounts(table, protected.total, published_people)
