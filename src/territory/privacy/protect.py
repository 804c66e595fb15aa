"""Disclosure control: the one step every count goes through before it leaves the store.

The rules are those of ``privacy.md`` (version 2). The input is always **records**:
contacts grouped per person and place (columns ``person``, ``n`` — contacts — and
``key`` — the sum of their record keys — plus the columns they are counted by), never
a bare count, because the threshold is on people and the perturbation on record keys.

1. **threshold k on people** (``Settings.k``, default 11, never below 5): a value is
   shown only when at least k distinct people contribute to it (a contact without a
   person key is its own person);
2. **roll-up before suppression** (:func:`partition`): a 200 m cell of fewer than k
   people is merged into its 1 km parent, then into the rest of its commune; every
   sub-commune output reads this one partition;
3. **secondary suppression**: when parts are shown with their total, the hidden parts
   must be at least two and hold at least k contacts; the smallest published parts are
   suppressed too until they do (:func:`protect`), in both directions for a table
   (:func:`protect_breakdown`);
4. **cell-key perturbation** (the ONS 2021 census method), then rounding: each stored
   contact carries a random record key in ``[0, KEY_RANGE)``; the key of a value is the
   sum of its records' keys modulo ``KEY_RANGE``; :data:`NOISE` turns (true value, key)
   into a noise in ``[-MAX_NOISE, MAX_NOISE]``; the noisy value is rounded to the
   nearest multiple of ``Settings.rounding`` (≥ 5), and never below the first multiple
   at or above k (:func:`publish`). The same records always give the same published
   value, in any view; two overlapping aggregates differ by noise.

The perturbation table (documented here because ``privacy.md`` asks for it fixed and
public; its protection comes from the keys, which never leave the store): the 256 key
positions are shared among the noises -5…+5 in proportion to the triangular weights
1, 2, 3, 4, 5, 6, 5, 4, 3, 2, 1 (7, 14, 21, 28, 36, 44, 36, 28, 21, 14, 7 positions:
mean 0, standard deviation 2.4); the noise of true value ``n`` with cell key ``c`` is
the one at position ``(c + 97 n) mod 256`` — each true value reads the table from its
own offset, so that adding one record changes the noise unpredictably. Zero is
published as zero (no record, no key).

Choices where ``privacy.md`` is silent (the safer option): the published number is the
count of **contacts** (the map's density), thresholded on people; when the people of a
union of parts is not computed, its lower bound (the largest part) is used, so that a
value may be hidden that could be shown, never the reverse.

Examples
--------
>>> import pandas as pd
>>> from territory import Settings
>>> parts = pd.DataFrame({"n": [40, 12, 3], "people": [30, 12, 2], "key": [7, 99, 5]},
...                      index=["a", "b", "c"])
>>> out = protect(parts, settings=Settings())
>>> out.table["status"].tolist()
['publié', 'secret', 'sous le seuil']
>>> out.table.loc["c", "label"], out.total_label
('< 11', '55')
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
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

KEY_RANGE = 256
"""Record keys are drawn uniformly in ``[0, KEY_RANGE)``; cell keys are sums modulo it."""
MAX_NOISE = 5
"""The largest perturbation, in contacts (before rounding)."""
_WEIGHTS = np.array([7, 14, 21, 28, 36, 44, 36, 28, 21, 14, 7])
NOISE = np.repeat(np.arange(-MAX_NOISE, MAX_NOISE + 1), _WEIGHTS)
"""The perturbation table: the noise at each of the ``KEY_RANGE`` key positions."""
_ROW_OFFSET = 97  # odd, so that each true value reads the table from its own offset
TALLY = ["n", "people", "key"]
"""The columns of a tally: contacts, distinct people, sum of record keys."""
DENSITY_COLUMNS = ["zone", "level", "count", "label", "status"]


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
        The published total (None when under k) and how to display it.
    """

    table: pd.DataFrame
    total: int | None
    total_label: str


def publish(n: npt.ArrayLike, key: npt.ArrayLike, *, settings: Settings) -> npt.NDArray[np.int64]:
    """The published value of true counts ``n`` whose records' keys sum to ``key``.

    Perturbed by :data:`NOISE`, rounded to ``settings.rounding``, never below the first
    multiple of the rounding at or above k; 0 stays 0. Only for values that passed the
    threshold (the callers hide the others).

    Examples
    --------
    >>> from territory import Settings
    >>> publish([0, 11, 200], [3, 3, 3], settings=Settings()).tolist()
    [0, 15, 200]
    """
    true = np.asarray(n, dtype=np.int64)
    position = (np.asarray(key, dtype=np.int64) + _ROW_OFFSET * true) % KEY_RANGE
    noisy = true + NOISE[position]
    step = settings.rounding
    rounded = np.floor(noisy / step + 0.5).astype(np.int64) * step
    floor = math.ceil(settings.k / step) * step
    return np.where(true == 0, 0, np.maximum(rounded, floor)).astype(np.int64)


def tally(records: pd.DataFrame, by: str | list[str]) -> pd.DataFrame:
    """Contacts, distinct people and key sum of ``records`` per value of ``by``.

    ``records`` has columns ``person``, ``n`` and ``key`` (one row per person and
    place, or finer). Returns one row per group, columns :data:`TALLY`.
    """
    grouped = records.groupby(by, sort=False, observed=True)
    out = grouped[["n", "key"]].sum()
    out["people"] = grouped["person"].nunique()
    return out[TALLY].astype("int64")


def whole(records: pd.DataFrame) -> tuple[int, int, int]:
    """The tally of every record: ``(n, people, key)``."""
    return int(records["n"].sum()), int(records["person"].nunique()), int(records["key"].sum())


def protect(
    parts: pd.DataFrame,
    *,
    settings: Settings,
    total_people: int | None = None,
) -> Protected:
    """Threshold on people, secondary suppression and perturbation of parts and their total.

    Parameters
    ----------
    parts
        Tallies of disjoint sets of contacts (zones, categories…), indexed by part,
        columns :data:`TALLY`.
    settings
        Gives ``k`` and ``rounding``.
    total_people
        Distinct people of all the parts together (a person may be in several parts);
        None: the largest part's, a lower bound.

    Returns
    -------
    Protected
        Only published values: no value from fewer than k people, no suppressed part
        recoverable from the total and the other parts.
    """
    k = settings.k
    n = parts["n"].to_numpy(dtype=np.int64)
    people = parts["people"].to_numpy(dtype=np.int64)
    key = parts["key"].to_numpy(dtype=np.int64)
    if (n < 0).any() or (people > n).any():
        raise ValueError("protect() reçoit des effectifs incohérents")
    below = (n > 0) & (people < k)
    secondary = np.zeros(len(n), dtype=bool)
    # Hidden parts must hide together at least two parts and k contacts: otherwise the
    # total minus the shown parts gives one hidden value. Add the smallest published
    # parts, in a stable order, until that holds.
    open_parts = np.flatnonzero(~below & (n > 0))
    for position in open_parts[np.argsort(n[open_parts], kind="stable")]:
        hidden = below | secondary
        if not hidden.any() or (int(n[hidden].sum()) >= k and int(hidden.sum()) >= 2):
            break
        secondary[position] = True
    shown = ~(below | secondary)
    values = publish(n, key, settings=settings)
    counts = pd.array(np.where(shown, values, 0), dtype="Int64")
    counts[~shown] = pd.NA
    labels = np.array([_format_count(int(v)) for v in values], dtype=object)
    labels[~shown] = ""
    labels[below] = f"< {k}"
    labels[secondary] = SECONDARY
    status = np.full(len(n), PUBLISHED, dtype=object)
    status[below] = BELOW_K
    status[secondary] = SECONDARY
    table = pd.DataFrame({"count": counts, "label": labels, "status": status}, index=parts.index)
    total_n = int(n.sum())
    everyone = total_people if total_people is not None else int(people.max()) if len(people) else 0
    if total_n > 0 and everyone < k:
        # Nothing is shown, not even the zeros: they would tell which part holds everyone.
        table["count"] = pd.array([pd.NA] * len(table), dtype="Int64")
        table["label"] = f"< {k}"
        table["status"] = BELOW_K
        return Protected(table, None, f"< {k}")
    total = int(publish([total_n], [int(key.sum())], settings=settings)[0])
    return Protected(table, total, _format_count(total))


def protect_rows(
    n: npt.ArrayLike,
    people: npt.ArrayLike,
    key: npt.ArrayLike,
    total_people: npt.ArrayLike,
    *,
    settings: Settings,
) -> tuple[pd.DataFrame, list[int | None]]:
    """:func:`protect` of many tables of parts at once (one row of the arrays each).

    ``n``, ``people`` and ``key`` have one row per table and one column per part (the
    parts of each table in the same order); ``total_people`` one value per table. Each
    row gets exactly what :func:`protect` gives its table: the same threshold, the same
    secondary suppression (the smallest published parts, in a stable order, until the
    hidden parts are two and k contacts), the same perturbation; only the arithmetic is
    done on all rows together.

    Returns
    -------
    tuple
        The tables one after the other (row-major: table ``r`` is rows ``r × parts`` to
        ``(r + 1) × parts``; columns ``count``, ``label``, ``status`` as in
        :func:`protect`) and the published total of each table (None under k people).
    """
    k = settings.k
    n = np.atleast_2d(np.asarray(n, dtype=np.int64))
    people = np.atleast_2d(np.asarray(people, dtype=np.int64))
    key = np.atleast_2d(np.asarray(key, dtype=np.int64))
    everyone = np.asarray(total_people, dtype=np.int64).reshape(-1)
    if (n < 0).any() or (people > n).any():
        raise ValueError("protect() reçoit des effectifs incohérents")
    rows, width = n.shape
    below = (n > 0) & (people < k)
    open_parts = ~below & (n > 0)
    # The loop of protect(), closed form: it adds the open parts, smallest first, while
    # the hidden ones are not yet both two parts and k contacts.
    order = np.argsort(np.where(open_parts, n, np.iinfo(np.int64).max), axis=1, kind="stable")
    ranked = np.take_along_axis(np.where(open_parts, n, 0), order, axis=1)
    added = np.concatenate([np.zeros((rows, 1), np.int64), np.cumsum(ranked, axis=1)], axis=1)
    steps = np.arange(width + 1)[None, :]
    hidden_parts = below.sum(axis=1)[:, None] + steps
    hidden_n = np.where(below, n, 0).sum(axis=1)[:, None] + added
    stop = (hidden_parts == 0) | ((hidden_n >= k) & (hidden_parts >= 2))
    stop &= steps <= open_parts.sum(axis=1)[:, None]
    taken = np.where(stop.any(axis=1), stop.argmax(axis=1), open_parts.sum(axis=1))
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(width), (rows, width)), axis=1)
    secondary = open_parts & (rank < taken[:, None])
    total_n = n.sum(axis=1)
    nobody = (total_n > 0) & (everyone < k)  # nothing shown, not even the zeros
    below[nobody] = True
    secondary[nobody] = False
    shown = ~(below | secondary)
    values = publish(n, key, settings=settings)
    labels = np.array([_format_count(int(v)) for v in values.ravel()], dtype=object)
    labels[~shown.ravel()] = ""
    labels[below.ravel()] = f"< {k}"
    labels[secondary.ravel()] = SECONDARY
    status = np.full(rows * width, PUBLISHED, dtype=object)
    status[below.ravel()] = BELOW_K
    status[secondary.ravel()] = SECONDARY
    counts = pd.array(np.where(shown, values, 0).ravel(), dtype="Int64")
    counts[~shown.ravel()] = pd.NA
    table = pd.DataFrame({"count": counts, "label": labels, "status": status})
    published = publish(total_n, key.sum(axis=1), settings=settings)
    totals = [None if hide else int(t) for hide, t in zip(nobody, published, strict=True)]
    return table, totals


def protect_total(records: pd.DataFrame, *, settings: Settings) -> Protected:
    """One published total: the contacts of ``records``, shown when they are k people."""
    n, people, key = whole(records)
    parts = pd.DataFrame({"n": [n], "people": [people], "key": [key]}, index=["total"])
    return protect(parts, settings=settings, total_people=people)


def partition(records: pd.DataFrame, *, k: int) -> pd.DataFrame:
    """The protected partition: the zone each (cell, commune) of ``records`` is counted in.

    A 200 m cell of at least k people is its own zone; the others of a 1 km square are
    merged when they hold k people together, and what is left of each commune is one
    zone. Returns one row per distinct (``cell``, ``commune``) with ``zone`` (cell id,
    1 km id or commune code) and ``level``.
    """
    places = records[["cell", "commune"]].drop_duplicates().reset_index(drop=True)
    if places.empty:
        return places.assign(zone=pd.Series(dtype=object), level=pd.Series(dtype=object))
    cell_people = records.groupby("cell", sort=False)["person"].nunique()
    rest_cells = cell_people.index[cell_people.to_numpy() < k]
    cells = places["cell"].to_numpy(dtype=object)
    km = pd.Series(parent_ids(cells), index=places.index, dtype=object)
    rest = places["cell"].isin(rest_cells).to_numpy()
    small = records[records["cell"].isin(rest_cells)]
    km_of = dict(zip(cells, km.to_numpy(), strict=True))
    km_people = small.assign(km=small["cell"].map(km_of)).groupby("km")["person"].nunique()
    in_km = rest & (km.map(km_people).fillna(0).to_numpy() >= k)
    places["zone"] = places["cell"].astype(str).astype(object)
    places["level"] = LEVEL_CELL
    places.loc[in_km, "zone"] = km[in_km]
    places.loc[in_km, "level"] = LEVEL_KM
    in_commune = rest & ~in_km
    places.loc[in_commune, "zone"] = places.loc[in_commune, "commune"].astype(str)
    places.loc[in_commune, "level"] = LEVEL_COMMUNE
    return places


def protect_density(
    records: pd.DataFrame, *, settings: Settings, zones: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Protected contact density of ``records``, on the protected partition.

    ``records`` has columns ``cell``, ``commune``, ``person``, ``n``, ``key``; ``zones``
    (a :func:`partition`, by default that of ``records``) lets a subset of the contacts
    (a territory) be drawn on the partition of the whole.

    Returns
    -------
    pandas.DataFrame
        One row per zone: ``zone`` (cell id, 1 km id, or commune code for what is left of
        a commune), ``level`` (``200m``, ``1km``, ``commune``), ``count`` (Int64, NA when
        suppressed), ``label``, ``status``, sorted by level then zone.
    """
    if records.empty:
        return pd.DataFrame(columns=DENSITY_COLUMNS)
    placed = place(records, zones if zones is not None else partition(records, k=settings.k))
    table = tally(placed, ["zone", "level"]).reset_index()
    for name in ("zone", "level"):  # plain text out: the callers add categories of their own
        table[name] = table[name].astype(str).to_numpy(dtype=object)
    table = _zone_order(table)
    protected = protect(
        table.set_index("zone")[TALLY],
        settings=settings,
        total_people=int(records["person"].nunique()),
    ).table
    out = table[["zone", "level"]].join(protected, on="zone")
    return out[DENSITY_COLUMNS].reset_index(drop=True)


def protect_density_by(
    records: pd.DataFrame,
    *,
    settings: Settings,
    parts: list[str] | None = None,
    zones: pd.DataFrame | None = None,
    whole_map: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The protected density split by one partition (quarters, or one category's values).

    The zones are those of :func:`protect_density` on the same contacts (the filter
    never changes the geography), and each zone's parts go through
    :func:`protect_breakdown` with the zone totals and the parts' totals: a filtered
    map can be laid beside the unfiltered one, or beside another part's map, without
    any subtraction isolating a suppressed value.

    Parameters
    ----------
    records
        Records with a ``part`` column (every contact in exactly one part).
    settings
        Gives ``k`` and ``rounding``.
    parts
        Every value of the partition, those nobody has included (shown as 0).
    zones
        The partition (by default that of ``records``).
    whole_map
        ``protect_density(records, settings=settings, zones=zones)`` when the caller
        has it already (computed here otherwise).

    Returns
    -------
    pandas.DataFrame
        One row per zone and part: the columns of :func:`protect_density` plus ``part``.
    """
    columns = [*DENSITY_COLUMNS[:2], "part", *DENSITY_COLUMNS[2:]]
    if records.empty:
        return pd.DataFrame(columns=columns)
    zones = zones if zones is not None else partition(records, k=settings.k)
    if whole_map is None:
        whole_map = protect_density(records, settings=settings, zones=zones)
    placed = place(records, zones)
    values = list(dict.fromkeys([*(parts or []), *placed["part"].unique()]))
    shown = pd.Series(
        (whole_map["status"] == PUBLISHED).to_numpy(), index=whole_map["zone"].to_numpy()
    )
    cells = protect_breakdown(
        placed.rename(columns={"zone": "row", "part": "column"}),
        rows=list(whole_map["zone"]),
        columns=values,
        shown_rows=shown,
        settings=settings,
    )
    out = cells.join(whole_map.set_index("zone")["level"], on="zone")
    return out[columns].reset_index(drop=True)


def protect_breakdown(
    records: pd.DataFrame,
    *,
    rows: list[str],
    columns: list[str],
    shown_rows: pd.Series,
    settings: Settings,
) -> pd.DataFrame:
    """Protect a table whose rows and columns are both shown with their totals.

    Each row (a zone) is split into the columns (a partition: quarters, categories);
    the row totals were protected elsewhere (``shown_rows`` says which are shown) and
    the column totals are protected here with :func:`protect`. A cell is hidden when
    fewer than k people make it, when its row or its column total is hidden, and then,
    until no row or column has a single hidden cell or hidden cells of fewer than k
    contacts, the smallest visible cell of each offending row or column is hidden too
    (secondary suppression, in both directions until nothing changes). Last, an audit:
    a hidden cell that the shown totals and cells determine (by addition and
    subtraction: the hidden cells seen as edges between rows and columns, it is then a
    bridge) gets one more hidden cell that closes a cycle through it. Shown cells are
    published (:func:`publish`).

    Parameters
    ----------
    records
        Records with columns ``row``, ``column``, ``person``, ``n``, ``key``.
    rows, columns
        Every row and column, in order (those without records are zeros).
    shown_rows
        Whether each row's total is shown (indexed by row).
    settings
        Gives ``k`` and ``rounding``.

    Returns
    -------
    pandas.DataFrame
        Long table: ``zone`` (the row), ``part``, ``count`` (Int64, NA when hidden),
        ``label`` and ``status``.
    """
    k = settings.k
    cells = tally(records, ["row", "column"])
    full = pd.MultiIndex.from_product([rows, columns], names=["row", "column"])
    cells = cells.reindex(full, fill_value=0)
    shape = (len(rows), len(columns))
    raw = cells["n"].to_numpy(dtype="int64").reshape(shape)
    people = cells["people"].to_numpy(dtype="int64").reshape(shape)
    below = (raw > 0) & (people < k)
    rows_open = shown_rows.reindex(rows).fillna(False).to_numpy(dtype=bool)
    column_tally = tally(records, "column").reindex(columns, fill_value=0)
    column_status = protect(
        column_tally, settings=settings, total_people=int(records["person"].nunique())
    ).table["status"]
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
    status[~rows_open[:, None] & (raw > 0) & (people < k)] = BELOW_K
    long = pd.DataFrame(
        {
            "zone": np.repeat(np.asarray(rows, dtype=object), len(columns)),
            "part": np.tile(np.asarray(columns, dtype=object), len(rows)),
            "status": status.ravel(),
        }
    )
    values = publish(cells["n"].to_numpy(), cells["key"].to_numpy(), settings=settings)
    shown = (long["status"] == PUBLISHED).to_numpy()
    long["count"] = pd.array(np.where(shown, values, 0), dtype="Int64")
    long.loc[~shown, "count"] = pd.NA
    long["label"] = long["count"].map(_format_count).astype(object)
    long.loc[long["status"] == BELOW_K, "label"] = f"< {k}"
    long.loc[long["status"] == SECONDARY, "label"] = SECONDARY
    return long[["zone", "part", "count", "label", "status"]]


_ZERO_KEY = np.iinfo(np.int64).max // 2
_HIDDEN_KEY = np.iinfo(np.int64).max


def place(records: pd.DataFrame, zones: pd.DataFrame) -> pd.DataFrame:
    """``records`` with the ``zone`` and ``level`` of their (cell, commune) in ``zones``.

    Both come out categorical (a group-by on them reads integer codes). A record whose
    place the partition does not know (it cannot happen when the partition was made from
    a superset of the records) is counted in its commune.
    """
    known = pd.MultiIndex.from_arrays([zones["cell"], zones["commune"]])
    at = known.get_indexer(pd.MultiIndex.from_arrays([records["cell"], records["commune"]]))
    zone = zones["zone"].astype(str).to_numpy(dtype=object)
    level = zones["level"].astype(str).to_numpy(dtype=object)
    missing = at < 0
    placed = records.copy()
    if missing.any():
        zone = np.concatenate([zone, records.loc[missing, "commune"].astype(str).to_numpy()])
        level = np.concatenate([level, np.full(int(missing.sum()), LEVEL_COMMUNE, dtype=object)])
        at = at.copy()
        at[missing] = len(zones) + np.arange(int(missing.sum()))
    zone_codes, zone_names = pd.factorize(zone)
    level_codes, level_names = pd.factorize(level)
    placed["zone"] = pd.Categorical.from_codes(zone_codes[at], categories=zone_names)
    placed["level"] = pd.Categorical.from_codes(level_codes[at], categories=level_names)
    return placed


def _zone_order(table: pd.DataFrame) -> pd.DataFrame:
    """Zones sorted by level (200 m, 1 km, commune), then id."""
    order = {LEVEL_CELL: 0, LEVEL_KM: 1, LEVEL_COMMUNE: 2}
    return table.sort_values(
        ["level", "zone"], key=lambda c: c.map(order) if c.name == "level" else c
    ).reset_index(drop=True)


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


def _format_count(n: int | None) -> str:
    """French thousands separator (narrow no-break space); "" for a missing count."""
    if n is pd.NA or n is None:
        return ""
    return format_number(int(n))
