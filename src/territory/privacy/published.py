"""Published contact figures: read through :mod:`~territory.privacy.raw`, protected at once.

What views and analysis know about contacts comes from here, already through
:mod:`territory.privacy.protect`: densities, totals, zone counts over two windows, the
weekday × slot profile, the months and quarters the data spans. No function returns a
raw count; the raw frames of :mod:`territory.privacy.raw` live only inside them.

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
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from territory.privacy import raw
from territory.privacy.protect import SECONDARY, protect, protect_density, protect_density_by
from territory.settings import Settings
from territory.store import Workspace
from territory.territories import WHOLE_WORKSPACE, list_territories, resolve

__all__ = [
    "WINDOW_PARTS",
    "contact_total",
    "density",
    "density_by",
    "latest_month",
    "published_months",
    "quarters",
    "slot_profile",
    "zone_window_counts",
]

K = TypeVar("K", bound=Hashable)
WINDOW_PARTS = ("contacts_recents", "contacts_precedents", "hors_radars", "autres")
"""The parts of :func:`zone_window_counts`: recent, previous, recent of the status, others."""
_REST = "__hors_zones__"  # the part holding the contacts of the scope outside every zone
_OUTSIDE = "hors plage"  # the part holding the contacts outside the slots' hours


def density(ws: Workspace, *, settings: Settings) -> pd.DataFrame:
    """The protected contact density of the whole workspace (:func:`protect_density`)."""
    return protect_density(raw.contact_cell_counts(ws), settings=settings)


def density_by(
    ws: Workspace, by: str, *, parts: list[str] | None, settings: Settings
) -> pd.DataFrame:
    """The protected density split by one filter of :data:`raw.PART_SQL` (all its parts)."""
    counts = raw.contact_cell_counts(ws, by=by)
    return protect_density_by(counts, settings=settings, parts=parts)


def published_months(ws: Workspace, *, settings: Settings) -> list[str]:
    """The months (``"2026-03"``) in which at least ``k`` distinct people were met.

    The only dates said about the contact layer come from these months: a month of a few
    people would tell when they were met.
    """
    stat = ws.path.stat()
    return list(_published_months(str(ws.path), stat.st_mtime_ns, ws.version, settings.k))


@lru_cache(maxsize=32)
def _published_months(path: str, mtime_ns: int, version: int, k: int) -> tuple[str, ...]:
    """The months of :func:`published_months`, kept per file state (a scan of every contact).

    Keyed on the file's path, modification time and write counter: any write, here or by
    another process, reads the contacts again. Immutable, so sessions may share it.
    """
    people = raw.people_per_month(Workspace.open(Path(path)))
    return tuple(str(m) for m in people.index[people.to_numpy() >= k])


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
    """The protected label of the number of contacts of ``scope`` (None: everything).

    A territory's total is also ``secret`` when it differs by 1 to k-1 contacts from
    the total of the whole workspace or of a defined territory strictly holding it: that
    total is shown elsewhere, and the difference would tell a small count.
    """
    per_commune = raw.counts_per_commune(ws)
    if scope is None:
        total = int(per_commune.sum())
    else:
        total = int(per_commune[per_commune.index.isin(scope)].sum())
    label = protect(
        pd.Series([total] if len(per_commune) else [], dtype="int64"), settings=settings
    ).total_label
    if scope is not None:
        larger = [
            resolve(ws, WHOLE_WORKSPACE),
            *(resolve(ws, t.name) for t in list_territories(ws)),
        ]
        for other in larger:
            if scope < other:
                difference = int(per_commune[per_commune.index.isin(other)].sum()) - total
                if 0 < difference < settings.k:
                    return SECONDARY
    return label


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

    Contacts are counted per zone privately, then each of :data:`WINDOW_PARTS` goes
    through :func:`~territory.privacy.protect.protect` with the zones as parts and the
    contacts of the scope outside every zone as one more part (so that the total of the
    scope cannot be used to recover a hidden zone).

    Parameters
    ----------
    ws
        The workspace.
    zone_codes
        The unique codes of each zone set.
    attribute
        Given the distinct 200 m cell ids holding contacts, the zone code of each cell
        for each zone set (None outside every zone); a set mapped to None (not an
        array) counts each contact in its commune.
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
    counts = raw.window_cell_counts(ws, recent=recent, previous=previous, status=status)
    if communes is not None:
        counts = counts[counts["commune"].isin(set(communes))]
    cells = np.asarray(counts["cell"].unique(), dtype=object)
    owners = attribute(cells)
    out: dict[K, dict[str, pd.DataFrame]] = {}
    for kind, codes in zone_codes.items():
        owner = owners.get(kind)
        if owner is None:
            known = set(codes)
            zone = counts["commune"].where(counts["commune"].isin(known), _REST)
        else:
            zone = pd.Series(owner, index=cells).reindex(counts["cell"]).fillna(_REST)
        table = (
            pd.DataFrame(
                {
                    "zone": zone.to_numpy(dtype=object),
                    "k": counts["k"].to_numpy(),
                    "n": counts["n"].to_numpy(),
                }
            )
            .groupby(["zone", "k"])["n"]
            .sum()
            .unstack("k")
            .reindex(columns=[0, 1, 2])
            .reindex([*codes, _REST])
            .fillna(0)
            .astype("int64")
        )
        values = (table[0] + table[1], table[2], table[0], table[1])
        parts = dict(zip(WINDOW_PARTS, values, strict=True))
        out[kind] = {
            name: protect(series, settings=settings).table.iloc[:-1]
            for name, series in parts.items()
        }
    return out


def slot_profile(
    ws: Workspace,
    *,
    period: tuple[date, date],
    slots: pd.MultiIndex,
    slot_hours: int,
    settings: Settings,
    communes: Collection[str] | None = None,
    zone_commune: str | None = None,
    zone_cells: Collection[str] | None = None,
) -> tuple[pd.DataFrame, bool]:
    """The protected weekday × slot profile of a zone, or of the territory.

    Contacts of ``period`` are counted per slot of ``slots`` (levels ``jour``, 0 =
    Monday, and ``debut``, the slot's first hour; each slot lasts ``slot_hours``), plus
    one part for the contacts outside those hours, and protected together. The zone (the
    contacts of ``zone_commune``, or of the 200 m cells ``zone_cells``) gets its own
    profile only when every slot of the zone reaches k and every slot of the rest of the
    territory is 0 or reaches k (so that the territory's profile minus the zone's cannot
    isolate a few contacts); otherwise the territory's profile is returned.

    Returns
    -------
    tuple
        The protected table (``count``, ``label``, ``status``), one row per slot in the
        order of ``slots``, and whether it is the zone's own profile.
    """
    counts = raw.profile_counts(ws, period)
    if communes is not None:
        counts = counts[counts["commune"].isin(set(communes))]
    territory = _slotted(counts, slots, slot_hours)
    if zone_commune is not None or zone_cells is not None:
        if zone_commune is not None:
            zone_counts = counts[counts["commune"] == zone_commune]
        else:
            zone_counts = raw.profile_counts(ws, period, cells=list(zone_cells or ()))
            if communes is not None:
                zone_counts = zone_counts[zone_counts["commune"].isin(set(communes))]
        zone = _slotted(zone_counts, slots, slot_hours)
        inside = zone.drop(_OUTSIDE)
        rest = (territory - zone).drop(_OUTSIDE)
        if (inside >= settings.k).all() and ((rest == 0) | (rest >= settings.k)).all():
            return _protected_slots(zone, settings), True
    return _protected_slots(territory, settings), False


def _slotted(counts: pd.DataFrame, slots: pd.MultiIndex, slot_hours: int) -> pd.Series:
    """Raw counts per slot plus one :data:`_OUTSIDE` part (private)."""
    starts = sorted(set(slots.get_level_values("debut")))
    h0, h1 = starts[0], starts[-1] + slot_hours
    inside = (counts["hour"] >= h0) & (counts["hour"] < h1)
    start = h0 + (counts["hour"] - h0) // slot_hours * slot_hours
    per_slot = (
        counts[inside]
        .assign(debut=start[inside])
        .groupby(["jour", "debut"])["n"]
        .sum()
        .reindex(slots, fill_value=0)
    )
    # String keys: protect() indexes parts with .loc, where a tuple would mean two axes.
    keys = [f"{d}:{h}" for d, h in slots]
    parts = pd.Series(per_slot.to_numpy(dtype="int64"), index=pd.Index(keys, dtype=object))
    parts[_OUTSIDE] = int(counts.loc[~inside, "n"].sum())
    return parts


def _protected_slots(parts: pd.Series, settings: Settings) -> pd.DataFrame:
    return protect(parts, settings=settings).table.drop(index=_OUTSIDE).reset_index(drop=True)
