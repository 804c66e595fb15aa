"""Disclosure control: the one step every count goes through before it leaves the store.

The rules are those of ``privacy.md``:

1. **threshold k** (``Settings.k``, default 11, never below 5): a count between 1 and
   k-1 is never shown as a number;
2. **roll-up before suppression** (density only): a 200 m cell under k is merged into
   its 1 km parent, then into its commune; what is still under k is suppressed;
3. **secondary suppression**: when parts are shown with their total, the hidden parts
   must be at least two and add up to at least k; the smallest published parts are
   suppressed too until they do, so that subtraction never isolates a small value;
4. **fixed coarse periods** are the callers' business (see ``contacts.PERIODS``);
5. **rounding** to a multiple of ``Settings.rounding`` (default 5).

Rounding choice (written down because ``privacy.md`` is silent on it): a published
count is at least k, and rounding must never turn it into a number under k (11 would
round to 10). Published counts are therefore rounded to the nearest multiple, then
raised to the smallest multiple that is at least k: with k=11 and rounding 5, every
published number is 15 or more. The total is rounded the same way, independently.

:func:`protect` is the gate; :func:`protect_density` only decides the zones (the
roll-up, from raw counts that never leave this module) and hands them to it.

Examples
--------
>>> import pandas as pd
>>> from territory import Settings
>>> out = protect(pd.Series({"a": 40, "b": 12, "c": 3}), settings=Settings())
>>> out.table["label"].tolist()
['40', 'secret', '< 11']
>>> out.total_label
'55'
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from territory.grid import parent_ids
from territory.settings import Settings

PUBLISHED = "publié"
BELOW_K = "sous le seuil"
SECONDARY = "secret"

LEVEL_CELL = "200m"
LEVEL_KM = "1km"
LEVEL_COMMUNE = "commune"


@dataclass(frozen=True)
class Protected:
    """Protected parts and their protected total.

    Attributes
    ----------
    table
        One row per part (same index as the input): ``count`` (Int64, NA when
        suppressed), ``label`` (what to display), ``status`` (published, under the
        threshold, or secondary suppression).
    total, total_label
        The rounded total (None when under k) and how to display it.
    """

    table: pd.DataFrame
    total: int | None
    total_label: str


def protect(parts: pd.Series, *, settings: Settings) -> Protected:
    """Apply threshold, secondary suppression and rounding to parts shown with their total.

    Parameters
    ----------
    parts
        Raw, non-negative integer counts of disjoint parts (zones, categories…),
        indexed by part.
    settings
        Gives ``k`` and ``rounding``.

    Returns
    -------
    Protected
        Only protected values: no count between 1 and k-1, no suppressed part
        recoverable from the total and the other parts.
    """
    k, step = settings.k, settings.rounding
    raw = pd.Series(parts, dtype="int64")
    if (raw < 0).any():
        raise ValueError("protect() reçoit des effectifs négatifs")
    below = (raw > 0) & (raw < k)
    secondary = pd.Series(False, index=raw.index)
    # Hidden parts must hide together at least k: otherwise the total minus the shown
    # parts gives a small number (or the one hidden value). Add the smallest published
    # parts, in a stable order, until that holds.
    candidates = raw[raw >= k].sort_values(kind="stable")
    for label in candidates.index:
        hidden = below | secondary
        if not hidden.any() or (int(raw[hidden].sum()) >= k and int(hidden.sum()) >= 2):
            break
        secondary.loc[label] = True
    shown = raw.where(~(below | secondary))
    counts = shown.map(lambda n: _round(int(n), k, step) if pd.notna(n) else pd.NA).astype("Int64")
    label = counts.map(_format_count).astype("object")
    label[below] = f"< {k}"
    label[secondary] = SECONDARY
    status = pd.Series(PUBLISHED, index=raw.index, dtype="object")
    status[below] = BELOW_K
    status[secondary] = SECONDARY
    table = pd.DataFrame({"count": counts, "label": label, "status": status}, index=raw.index)
    total_raw = int(raw.sum())
    if 0 < total_raw < k:
        # Nothing is shown, not even the zeros: they would tell which part holds everyone.
        table["count"] = pd.array([pd.NA] * len(table), dtype="Int64")
        table["label"] = f"< {k}"
        table["status"] = BELOW_K
        return Protected(table, None, f"< {k}")
    total = _round(total_raw, k, step) if total_raw else 0
    return Protected(table, total, _format_count(total))


def protect_density(cell_counts: pd.DataFrame, *, settings: Settings) -> pd.DataFrame:
    """Protected contact density: roll 200 m cells up to 1 km, then commune, then protect.

    Parameters
    ----------
    cell_counts
        Raw counts with columns ``cell`` (200 m id), ``commune`` (INSEE code) and ``n``.
        A cell split between two communes appears once per commune.

    Returns
    -------
    pandas.DataFrame
        One row per published or suppressed zone: ``zone`` (cell id, or commune code
        for what is left of a commune), ``level`` (``200m``, ``1km``, ``commune``),
        ``count`` (Int64, NA when suppressed), ``label``, ``status``, sorted by level
        then zone. No raw count is returned.
    """
    columns = ["zone", "level", "count", "label", "status"]
    if cell_counts.empty:
        return pd.DataFrame(columns=columns)
    zones = _rollup(cell_counts, settings.k)
    protected = protect(zones.set_index("zone")["n"], settings=settings).table
    out = zones.drop(columns="n").join(protected, on="zone")
    return out[columns].reset_index(drop=True)


def _rollup(cell_counts: pd.DataFrame, k: int) -> pd.DataFrame:
    """Zones and their raw counts (private: raw counts never leave this module)."""
    per_cell = cell_counts.groupby("cell")["n"].sum()
    cells = per_cell[per_cell >= k]
    rest = cell_counts[~cell_counts["cell"].isin(cells.index)].copy()
    rest["km"] = parent_ids(rest["cell"]) if len(rest) else np.array([], dtype=str)
    per_km = rest.groupby("km")["n"].sum()
    kms = per_km[per_km >= k]
    per_commune = rest[~rest["km"].isin(kms.index)].groupby("commune")["n"].sum()
    zones = pd.concat(
        [
            pd.DataFrame({"zone": part.index.astype(str), "level": level, "n": part.to_numpy()})
            for part, level in ((cells, LEVEL_CELL), (kms, LEVEL_KM), (per_commune, LEVEL_COMMUNE))
        ],
        ignore_index=True,
    )
    return zones


def _round(n: int, k: int, step: int) -> int:
    """Round to the nearest multiple of ``step`` (half up), never below k's multiple."""
    if n == 0:
        return 0
    rounded = math.floor(n / step + 0.5) * step
    return max(rounded, math.ceil(k / step) * step)


def _format_count(n: int | None) -> str:
    """French thousands separator (narrow no-break space); "" for a missing count."""
    if n is pd.NA or n is None:
        return ""
    return f"{int(n):,}".replace(",", "\u202f")
