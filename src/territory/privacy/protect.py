"""Disclosure control: the one step every count goes through before it leaves the store.

The rules are those of ``privacy.md``:

1. **threshold k** (``Settings.k``, default 11, never below 5): a count between 1 and
   k-1 is never shown as a number;
2. **roll-up before suppression** (density only): a 200 m cell under k is merged into
   its 1 km parent, then into its commune; what is still under k is suppressed;
3. **secondary suppression**: when parts are shown with their total, the hidden parts
   must be at least two and add up to at least k; the smallest published parts are
   suppressed too until they do, so that subtraction never isolates a small value;
4. **fixed coarse filters**: a filtered density (:func:`protect_density_by`) keeps the
   zones of the unfiltered one and splits each zone into the parts of ONE partition
   (calendar quarters, or the values of one category): every filtered figure is a part
   of a published zone total and of a published filter total, and the zone × part
   table is protected in both directions (:func:`protect_breakdown`), so that no two
   views (a period and the whole, a category and its complement, two adjacent
   quarters) can be subtracted to isolate a suppressed value;
5. **rounding** to a multiple of ``Settings.rounding`` (default 5).

Rounding choice (written down because ``privacy.md`` is silent on it): a published
count is at least k, and rounding must never turn it into a number under k (11 would
round to 10). Published counts are therefore rounded to the nearest multiple, then
raised to the smallest multiple that is at least k: with k=11 and rounding 5, every
published number is 15 or more. The total is rounded the same way, independently.

:func:`protect` is the gate for parts and their total; :func:`protect_breakdown` is the
same rule for a table whose rows and columns are both shown with their totals.
:func:`protect_density` and :func:`protect_density_by` only decide the zones (the
roll-up, from raw counts that never leave this module) and hand them to those two.

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

from territory._fr import format_number
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
    if cell_counts.empty:
        return pd.DataFrame(columns=DENSITY_COLUMNS)
    zones, _ = _zones(cell_counts, settings)
    return zones[DENSITY_COLUMNS].reset_index(drop=True)


def protect_density_by(
    cell_counts: pd.DataFrame, *, settings: Settings, parts: list[str] | None = None
) -> pd.DataFrame:
    """The protected density split by one partition (quarters, or one category's values).

    The zones are those of :func:`protect_density` on the same contacts (the filter
    never changes the geography), and each zone's parts go through
    :func:`protect_breakdown` with the zone totals and the parts' totals: a filtered
    map can be laid beside the unfiltered one, or beside another part's map, without
    any subtraction isolating a suppressed value.

    Parameters
    ----------
    cell_counts
        Raw counts with columns ``cell``, ``commune``, ``part`` (the partition's value:
        every contact in exactly one part) and ``n``.
    settings
        Gives ``k`` and ``rounding``.
    parts
        Every value of the partition, those nobody has included (shown as 0).

    Returns
    -------
    pandas.DataFrame
        One row per zone and part: the columns of :func:`protect_density` plus ``part``.
    """
    columns = [*DENSITY_COLUMNS[:2], "part", *DENSITY_COLUMNS[2:]]
    if cell_counts.empty:
        return pd.DataFrame(columns=columns)
    zones, assigned = _zones(cell_counts, settings)
    table = assigned.pivot_table(
        index="zone", columns="part", values="n", aggfunc="sum", fill_value=0
    ).reindex(zones["zone"], fill_value=0)
    if parts is not None:
        table = table.reindex(columns=list(dict.fromkeys([*parts, *table.columns])), fill_value=0)
    shown = pd.Series((zones["status"] == PUBLISHED).to_numpy(), index=zones["zone"].to_numpy())
    cells = protect_breakdown(table, shown_rows=shown, settings=settings)
    out = cells.join(zones.set_index("zone")["level"], on="zone")
    return out[columns].reset_index(drop=True)


def protect_breakdown(
    parts: pd.DataFrame, *, shown_rows: pd.Series, settings: Settings
) -> pd.DataFrame:
    """Protect a table whose rows and columns are both shown with their totals.

    Each row (a zone) is split into the columns (a partition: quarters, categories);
    the row totals were protected elsewhere (``shown_rows`` says which are shown) and
    the column totals are protected here with :func:`protect`. A cell is hidden when it
    is under k, when its row or its column total is hidden, and then, until no row or
    column has a single hidden cell or hidden cells adding up to less than k, the
    smallest visible cell of each offending row or column is hidden too (secondary
    suppression, in both directions until nothing changes). Last, an audit: a hidden
    cell that the shown totals and cells determine (by addition and subtraction: the
    hidden cells seen as edges between rows and columns, it is then a bridge) gets
    one more hidden cell that closes a cycle through it. Shown cells are rounded.

    Parameters
    ----------
    parts
        Raw non-negative counts, index = rows (zones), columns = parts.
    shown_rows
        Whether each row's total is shown (same index as ``parts``).
    settings
        Gives ``k`` and ``rounding``.

    Returns
    -------
    pandas.DataFrame
        Long table: ``zone`` (the row), ``part``, ``count`` (Int64, NA when hidden),
        ``label`` and ``status``.

    Examples
    --------
    >>> import pandas as pd
    >>> from territory import Settings
    >>> table = pd.DataFrame(
    ...     {"T1": [30, 20, 40], "T2": [3, 25, 30], "T3": [12, 14, 30]}, index=["a", "b", "c"]
    ... )
    >>> out = protect_breakdown(table, shown_rows=pd.Series(True, index=table.index),
    ...                         settings=Settings())
    >>> labels = out.pivot(index="zone", columns="part", values="label")  # 3 is under k
    >>> labels.to_numpy().tolist()  # zones a, b, c × quarters T1, T2, T3
    [['30', '< 11', 'secret'], ['20', 'secret', 'secret'], ['40', '30', '30']]
    """
    k, step = settings.k, settings.rounding
    raw = parts.to_numpy(dtype="int64")
    if (raw < 0).any():
        raise ValueError("protect_breakdown() reçoit des effectifs négatifs")
    below = (raw > 0) & (raw < k)
    rows_open = shown_rows.reindex(parts.index).fillna(False).to_numpy(dtype=bool)
    column_status = protect(pd.Series(raw.sum(axis=0)), settings=settings).table["status"]
    columns_open = (column_status == PUBLISHED).to_numpy()
    column_small = (column_status == BELOW_K).to_numpy()
    hidden = below | ~rows_open[:, None] | ~columns_open[None, :]
    while True:
        rows_hit = _hide_one_more(raw, hidden, rows_open, k)
        columns_hit = _hide_one_more(raw.T, hidden.T, columns_open, k)
        if not (rows_hit or columns_hit or _link_determined(raw, hidden, rows_open, columns_open)):
            break
    status = np.where(hidden, SECONDARY, PUBLISHED).astype(object)
    status[below | (column_small[None, :] & np.ones_like(hidden))] = BELOW_K
    status[~rows_open[:, None] & (raw < k)] = BELOW_K  # a zone under k: "< k" throughout
    long = pd.DataFrame(
        {
            "zone": np.repeat(parts.index.to_numpy(), raw.shape[1]),
            "part": np.tile(parts.columns.to_numpy(), raw.shape[0]),
            "raw": raw.ravel(),
            "status": status.ravel(),
        }
    )
    shown = long["status"] == PUBLISHED
    rounded = [_round(int(n), k, step) for n in long["raw"]]
    long["count"] = pd.Series(rounded, dtype="Int64").where(shown, pd.NA)
    long["label"] = long["count"].map(_format_count).astype(object)
    long.loc[long["status"] == BELOW_K, "label"] = f"< {k}"
    long.loc[long["status"] == SECONDARY, "label"] = SECONDARY
    return long[["zone", "part", "count", "label", "status"]]


DENSITY_COLUMNS = ["zone", "level", "count", "label", "status"]
_ZERO_KEY = np.iinfo(np.int64).max // 2
_HIDDEN_KEY = np.iinfo(np.int64).max


def _zones(cell_counts: pd.DataFrame, settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Protected zones and the input rows with their ``zone`` (private: raw counts)."""
    assigned = _assign(cell_counts, settings.k)
    zones = assigned.groupby(["zone", "level"], as_index=False, sort=False)["n"].sum()
    order = {LEVEL_CELL: 0, LEVEL_KM: 1, LEVEL_COMMUNE: 2}
    zones = zones.sort_values(
        ["level", "zone"], key=lambda c: c.map(order) if c.name == "level" else c
    ).reset_index(drop=True)
    protected = protect(zones.set_index("zone")["n"], settings=settings).table
    zones = zones.drop(columns="n").join(protected, on="zone")
    return zones, assigned


def _assign(cell_counts: pd.DataFrame, k: int) -> pd.DataFrame:
    """Each input row with the zone it is counted in.

    Its cell if the cell reaches k, else its 1 km parent if that reaches k, else its commune
    (the roll-up).
    """
    out = cell_counts.copy()
    per_cell = out.groupby("cell")["n"].transform("sum")
    cells = out["cell"].to_numpy(dtype=object)  # parsed faster than an Arrow-backed column
    km = pd.Series(parent_ids(cells) if len(out) else [], index=out.index, dtype=object)
    rest = per_cell < k
    per_km = out["n"].where(rest, 0).groupby(km).transform("sum")
    out["zone"] = out["cell"].astype(str)
    out["level"] = LEVEL_CELL
    in_km = rest & (per_km >= k)
    out.loc[in_km, "zone"] = km[in_km]
    out.loc[in_km, "level"] = LEVEL_KM
    in_commune = rest & ~in_km
    out.loc[in_commune, "zone"] = out.loc[in_commune, "commune"].astype(str)
    out.loc[in_commune, "level"] = LEVEL_COMMUNE
    return out


def _hide_one_more(raw: np.ndarray, hidden: np.ndarray, open_lines: np.ndarray, k: int) -> bool:
    """Hide one more cell in each shown line whose hidden cells could be recovered.

    A shown line (row of ``raw``) whose hidden cells are exactly one or add up to less than
    k loses its smallest visible cell (non-zero first). In place; whether any.
    """
    count = hidden.sum(axis=1)
    total = np.where(hidden, raw, 0).sum(axis=1)
    visible = ~hidden
    offending = open_lines & (count > 0) & ((count == 1) | (total < k)) & visible.any(axis=1)
    if not offending.any():
        return False
    # Smallest visible non-zero cell first, then a visible zero; hidden cells never.
    key = np.where(visible, np.where(raw > 0, raw, _ZERO_KEY), _HIDDEN_KEY)
    rows = np.flatnonzero(offending)
    hidden[rows, key[rows].argmin(axis=1)] = True
    return True


def _link_determined(
    raw: np.ndarray, hidden: np.ndarray, rows_open: np.ndarray, columns_open: np.ndarray
) -> bool:
    """Hide one more cell for each hidden cell the shown totals would determine.

    The hidden cells are edges of a graph whose nodes are the rows and the columns,
    every row or column whose total is hidden merged into one free node (no equation
    holds there). A hidden cell is recoverable by adding and subtracting shown figures
    exactly when its edge is a bridge; hiding a visible cell that joins the two sides
    of the bridge closes a cycle through it. In place; whether anything was hidden.
    """
    n_rows, n_columns = raw.shape
    free = n_rows + n_columns
    row_node = np.where(rows_open, np.arange(n_rows), free)
    column_node = np.where(columns_open, n_rows + np.arange(n_columns), free)
    i, j = np.nonzero(hidden)
    u, v = row_node[i], column_node[j]
    bridges, component, entry, leave = _bridges(free + 1, u, v)
    changed = False
    vi, vj = np.nonzero(~hidden)
    vu, vv = row_node[vi], column_node[vj]
    size = np.where(raw[vi, vj] > 0, raw[vi, vj], _ZERO_KEY)
    for edge, child in bridges:
        inside_u = (entry[vu] >= entry[child]) & (entry[vu] <= leave[child])
        inside_v = (entry[vv] >= entry[child]) & (entry[vv] <= leave[child])
        same = (component[vu] == component[child]) & (component[vv] == component[child])
        crossing = same & (inside_u != inside_v) & ~hidden[vi, vj]
        if crossing.any():
            best = np.flatnonzero(crossing)[size[crossing].argmin()]
            hidden[vi[best], vj[best]] = True
            changed = True
        elif not hidden[i[edge]].all():  # nothing joins the two sides: hide the whole row
            hidden[i[edge], :] = True
            changed = True
        # else the cell follows from shown totals alone, whatever is hidden here
    return changed


def _bridges(
    n_nodes: int, u: np.ndarray, v: np.ndarray
) -> tuple[list[tuple[int, int]], np.ndarray, np.ndarray, np.ndarray]:
    """Bridges of a multigraph (iterative Tarjan).

    Returns the bridges as ``(edge index, node on the child side)``, and per node its
    component, DFS entry time and the last entry time of its subtree (a node x is on
    the child side of a bridge iff ``entry[child] <= entry[x] <= leave[child]``).
    """
    adjacency: list[list[tuple[int, int]]] = [[] for _ in range(n_nodes)]
    for edge, (a, b) in enumerate(zip(u.tolist(), v.tolist(), strict=True)):
        adjacency[a].append((b, edge))
        adjacency[b].append((a, edge))
    entry = np.full(n_nodes, -1)
    low = np.zeros(n_nodes, dtype=np.int64)
    leave = np.full(n_nodes, -1)
    component = np.full(n_nodes, -1)
    bridges: list[tuple[int, int]] = []
    clock = 0
    for root in range(n_nodes):
        if entry[root] >= 0 or not adjacency[root]:
            continue
        entry[root] = low[root] = clock
        component[root] = root
        clock += 1
        stack = [(root, -1, iter(adjacency[root]))]
        while stack:
            node, via, neighbours = stack[-1]
            for other, edge in neighbours:
                if edge == via:
                    continue
                if entry[other] < 0:
                    entry[other] = low[other] = clock
                    component[other] = root
                    clock += 1
                    stack.append((other, edge, iter(adjacency[other])))
                    break
                low[node] = min(low[node], entry[other])
            else:
                stack.pop()
                leave[node] = clock - 1
                if stack:
                    parent = stack[-1][0]
                    low[parent] = min(low[parent], low[node])
                    if low[node] > entry[parent]:
                        bridges.append((via, node))
    return bridges, component, entry, leave


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
    return format_number(int(n))
