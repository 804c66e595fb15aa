"""Privacy v2 over random contact sets: every view the product offers, against the truth.

``privacy.md`` (How it is checked) asks for property-based tests over random contact sets
and every filter, territory and view: no published value from fewer than k people, no
hidden value recoverable from one output or from two outputs combined. Each example
writes a random contact set (a few hundred rows: people met once or many times, contacts
without a person key, 200 m cells of a few demo communes, twelve months of dates, hours,
statuses, age bands, sexes) into a copy of the demo workspace through the product's one
writer (:func:`territory.privacy.raw.append_contacts`), reads every figure back through
the public functions, and checks it against the ground truth of the generated rows: who
was met, where and when.

The truth is computed here, from the rows, with the rules of ``privacy.md``: the
protected partition (a 200 m cell of fewer than k people merged into its 1 km parent,
then into the rest of its commune) is rebuilt independently and compared with the
product's; people are distinct pseudonyms, a contact without one being a person of its
own.
"""

from __future__ import annotations

import itertools
import math
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from territory import Settings
from territory.analysis.indicators import (
    contact_windows,
    protected_contacts,
    protected_contacts_many,
)
from territory.analysis.slots import contact_profile
from territory.analysis.zones import cells_in_zones, load_zones
from territory.grid import cell_ids, parent_ids, parse_ids
from territory.privacy import published, raw
from territory.privacy.protect import PUBLISHED, SECONDARY, protect
from territory.store import Workspace
from territory.territories import define_territory, delete_territory, list_territories, resolve
from territory.views import BREAKDOWNS, breakdown_choices, density_layer, summary
from territory.vocab import AGE_BANDS, STATUSES, UNKNOWN

FIRST_DAY = pd.Timestamp("2025-11-01")  # the demo's twelve months: 2025-11 to 2026-10
DAYS = 365
STATUS_VALUES = [*STATUSES, UNKNOWN, ""]
AGE_VALUES = [*AGE_BANDS, UNKNOWN, ""]
SEX_VALUES = ["F", "H", UNKNOWN, ""]
POOL_COMMUNES = ("00001", "00037", "00003", "00005")  # contacts are drawn in these
OTHER_COMMUNES = ("00002", "00007")  # territories may hold communes without contacts
HOT = len(POOL_COMMUNES)  # the first cells of the pool, one per commune, drawn more often
PEOPLE = 150  # person keys drawn among this many
SLOT_HOURS = (8, 22)  # the outreach day of the profiles, in 2-hour slots


# ------------------------------------------------------------------------ the generator
@dataclass(frozen=True)
class Pool:
    """The (cell, commune) pairs contacts are drawn in: real ones of the demo."""

    cells: tuple[str, ...]
    communes: tuple[str, ...]

    def of(self, commune: str) -> list[int]:
        """Indices of the pool's pairs in ``commune``."""
        return [i for i, c in enumerate(self.communes) if c == commune]


@pytest.fixture(scope="module")
def pool(demo_workspace: Path) -> Pool:
    """A few 1 km squares of four demo communes, several 200 m cells each, and QPV cells.

    The first cell of each commune comes first (:data:`HOT`): the generator draws them
    more often, so that some cells reach k people while others stay under it, and cells
    of one square merge into their 1 km parent or into the rest of their commune.
    """
    demo = Workspace.open(demo_workspace)
    pairs = demo.query(
        "SELECT cell, commune, count(*) AS n FROM contacts GROUP BY cell, commune "
        "ORDER BY n DESC, cell"
    )
    pairs = pairs[pairs["commune"].isin(POOL_COMMUNES)].reset_index(drop=True)
    pairs["km"] = parent_ids(pairs["cell"])
    qpv = load_zones(demo, "qpv")
    pairs["qpv"] = cells_in_zones(pairs["cell"].to_numpy(dtype=object), qpv, kind="qpv")
    heads: list[tuple[str, str]] = []
    rest: list[tuple[str, str]] = []
    for commune in POOL_COMMUNES:
        mine = pairs[pairs["commune"] == commune]
        squares = mine.groupby("km")["cell"].nunique().sort_values(ascending=False, kind="stable")
        for rank, km in enumerate(squares.index[:2]):
            cells = list(mine.loc[mine["km"] == km, "cell"].head(5))
            chosen = [(cell, commune) for cell in cells]
            if rank == 0:
                heads.append(chosen[0])
                chosen = chosen[1:]
            rest += chosen
    for code in qpv["code"]:
        inside = pairs[pairs["qpv"] == code].head(3)
        rest += list(zip(inside["cell"], inside["commune"], strict=True))
    everything = list(dict.fromkeys([*heads, *rest]))
    assert len(heads) == HOT and len(everything) > 25
    return Pool(tuple(c for c, _ in everything), tuple(m for _, m in everything))


@pytest.fixture(scope="module")
def base(demo_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo workspace without its contacts nor its territories."""
    path = tmp_path_factory.mktemp("properties") / "base.gpkg"
    shutil.copyfile(demo_workspace, path)
    ws = Workspace.open(path)
    ws.delete_rows("contacts", "1=1")
    for defined in list_territories(ws):
        delete_territory(ws, defined.name)
    return path


_COPIES = itertools.count()


@pytest.fixture(scope="module")
def fresh(base: Path) -> Iterator[Callable[[], Workspace]]:
    """A maker of workspaces: a new copy of ``base`` per example (removed afterwards)."""
    made: list[Path] = []

    def make() -> Workspace:
        path = base.with_name(f"example-{next(_COPIES)}.gpkg")
        shutil.copyfile(base, path)
        made.append(path)
        return Workspace.open(path)

    yield make
    for path in made:
        path.unlink(missing_ok=True)


def _row() -> st.SearchStrategy[tuple[int, int | None, int, int, int, int, int]]:
    """One contact: cell index, person (None: no key), day, hour, status, age band, sex."""
    return st.tuples(
        st.integers(0, 10_000),  # mapped into the pool (or a sub-pool) by the test
        st.one_of(st.none(), st.integers(0, PEOPLE - 1)),
        st.integers(0, DAYS - 1),
        st.integers(0, 23),
        st.integers(0, len(STATUS_VALUES) - 1),
        st.integers(0, len(AGE_VALUES) - 1),
        st.integers(0, len(SEX_VALUES) - 1),
    )


def _burst() -> st.SearchStrategy[tuple[int, int, int, int]]:
    """One person met many times in one cell: cell index, person, contacts, first day."""
    return st.tuples(
        st.integers(0, 10_000),
        st.integers(0, PEOPLE - 1),
        st.integers(2, 30),
        st.integers(0, DAYS - 1),
    )


@dataclass(frozen=True)
class Drawn:
    """A random contact set as drawn (indices), before it is laid on a pool."""

    rows: list[tuple[int, int | None, int, int, int, int, int]]
    bursts: list[tuple[int, int, int, int]]
    hot: list[bool]


def contact_sets(min_size: int = 120, max_size: int = 320) -> st.SearchStrategy[Drawn]:
    """Random contact sets: single contacts, bursts of one person, and hot cells."""
    return st.builds(
        Drawn,
        st.lists(_row(), min_size=min_size, max_size=max_size),
        st.lists(_burst(), max_size=4),
        st.lists(st.booleans(), min_size=max_size, max_size=max_size),
    )


def lay(
    drawn: Drawn, pool: Pool, *, within: list[int] | None = None, tag: str = "a"
) -> pd.DataFrame:
    """The contacts of ``drawn`` on ``pool`` (or on the pool indices ``within``).

    Returns the rows as stored (:data:`territory.privacy.raw.STORED_COLUMNS` but ``cle``)
    plus ``who``, the person each contact counts as (its pseudonym, or itself).
    """
    cells = within if within is not None else list(range(len(pool.cells)))
    hot = cells[:HOT] if within is None else cells[:1]
    records = []
    for i, (cell, person, day, hour, status, age, sex) in enumerate(drawn.rows):
        place = hot[cell % len(hot)] if drawn.hot[i % len(drawn.hot)] else cells[cell % len(cells)]
        records.append((place, person, day, hour, status, age, sex))
    for cell, person, times, day in drawn.bursts:
        place = cells[cell % len(cells)]
        records += [(place, person, (day + t) % DAYS, 8 + t % 12, 1, 1, 1) for t in range(times)]
    frame = pd.DataFrame(
        records, columns=["place", "person", "day", "hour", "status", "age", "sex"]
    )
    prints = [f"{tag}{i:015x}" for i in range(len(frame))]
    person = frame["person"].astype("Int64")
    pseudonym = [
        "" if pd.isna(p) else f"{0xABC0000 + int(p):016x}" for p in person.to_numpy(dtype=object)
    ]
    return pd.DataFrame(
        {
            "cell": [pool.cells[p] for p in frame["place"]],
            "commune": [pool.communes[p] for p in frame["place"]],
            "date": (FIRST_DAY + pd.to_timedelta(frame["day"], unit="D")).dt.strftime("%Y-%m-%d"),
            "hour": frame["hour"].astype("int64"),
            "statut": [STATUS_VALUES[s] for s in frame["status"]],
            "tranche_age": [AGE_VALUES[a] for a in frame["age"]],
            "sexe": [SEX_VALUES[s] for s in frame["sex"]],
            "partenaire": "",
            "personne": pseudonym,
            "fingerprint": prints,
            "who": [p or f"row:{f}" for p, f in zip(pseudonym, prints, strict=True)],
        }
    )


def write(ws: Workspace, rows: pd.DataFrame) -> None:
    """Store ``rows`` through the product's one contact writer."""
    raw.append_contacts(ws, rows.drop(columns="who"), source="essai", vintage="", licence="")


def truth_of(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows as the rules read them: dates as dates, empty categories « non renseigné »."""
    out = rows.copy()
    out["date"] = pd.to_datetime(out["date"])
    for name in ("statut", "tranche_age", "sexe"):
        out[name] = out[name].replace("", UNKNOWN)
    out["periode"] = out["date"].dt.year.astype(str) + "-T" + out["date"].dt.quarter.astype(str)
    out["who"] = pd.factorize(out["who"])[0]  # one integer per person: faster to count
    return out


# ---------------------------------------------------------------------------- the truth
def expected_partition(truth: pd.DataFrame, k: int) -> pd.DataFrame:
    """``privacy.md`` rule 2, from the rows: the zone of each (cell, commune).

    A cell of k people is its own zone; the cells under k of a 1 km square are merged
    when they hold k people together; what is left of each commune is one zone.
    """
    people = truth.groupby("cell")["who"].nunique()
    big = set(people.index[people >= k])
    places = truth[["cell", "commune"]].drop_duplicates().reset_index(drop=True)
    places["km"] = parent_ids(places["cell"]) if len(places) else []
    small = truth[~truth["cell"].isin(big)].merge(places[["cell", "km"]].drop_duplicates())
    km_people = small.groupby("km")["who"].nunique()
    merged = set(km_people.index[km_people >= k])
    is_big = places["cell"].isin(big)
    is_km = ~is_big & places["km"].isin(merged)
    places["zone"] = np.where(
        is_big, places["cell"], np.where(is_km, places["km"], places["commune"])
    )
    places["level"] = np.where(is_big, "200m", np.where(is_km, "1km", "commune"))
    return places[["cell", "commune", "zone", "level"]]


def tally(rows: pd.DataFrame, by: str | list[str]) -> pd.DataFrame:
    """Contacts ``n`` and distinct people ``people`` of ``rows`` per ``by``."""
    who = rows.groupby(by, observed=True, sort=False)["who"]
    return pd.DataFrame({"n": who.size(), "people": who.nunique()})


def check_values(table: pd.DataFrame, settings: Settings, where: str) -> None:
    """Published ``count`` against the truth ``n`` and ``people`` of the same rows.

    No number from fewer than k people (a count of 1 to k-1 people is hidden, never
    shown, not even as 0); every number is a multiple of the rounding, at least the first
    multiple at or above k; 0 only for no contact.
    """
    k, step = settings.k, settings.rounding
    n = table["n"].fillna(0).astype("int64")
    people = table["people"].fillna(0).astype("int64")
    count = table["count"].astype("Int64")
    shown = count.notna().to_numpy()
    value = count.fillna(0).to_numpy(dtype="int64")
    few = (people > 0) & (people < k)
    assert not (shown & few.to_numpy()).any(), (where, table[shown & few.to_numpy()])
    positive = shown & (value > 0)
    assert (people.to_numpy()[positive] >= k).all(), (where, table[positive])
    assert (value[positive] % step == 0).all(), (where, table[positive])
    assert (value[positive] >= math.ceil(k / step) * step).all(), (where, table[positive])
    zero = shown & (value == 0)
    assert (n.to_numpy()[zero] == 0).all(), (where, table[zero])


def number(label: str) -> int | None:
    """The number a French label shows (None for « < k », « secret » or nothing)."""
    digits = label.replace("\u202f", "").replace("\xa0", "").strip()
    return int(digits) if digits.isdigit() else None


def check_total(label: str, rows: pd.DataFrame, settings: Settings, where: str) -> None:
    """A published total (a label) of ``rows``."""
    value = number(label)
    people = int(rows["who"].nunique())
    frame = pd.DataFrame(
        {"count": pd.array([value], dtype="Int64"), "n": [len(rows)], "people": [people]}
    )
    check_values(frame, settings, where)
    if value is None:
        assert label == f"< {settings.k}" and 0 < people < settings.k, (where, label, people)


def determined(
    hidden: list[tuple[str, str]], rows: list[str], columns: list[str], *, everything: bool
) -> np.ndarray:
    """Which unknown cells the known row and column totals fix (linear algebra).

    ``everything``: the sum of every cell is known too. A cell is fixed exactly when its
    unit vector lies in the row space of the equations, i.e. when it has no component in
    their null space.
    """
    if not hidden:
        return np.zeros(0, dtype=bool)
    row_of = np.array([r for r, _ in hidden], dtype=object)
    column_of = np.array([c for _, c in hidden], dtype=object)
    a = np.concatenate(
        [
            row_of[None, :] == np.array(rows, dtype=object)[:, None],
            column_of[None, :] == np.array(columns, dtype=object)[:, None],
            np.ones((1 if everything else 0, len(hidden)), dtype=bool),
        ]
    ).astype(float)
    if not len(a):
        return np.zeros(len(hidden), dtype=bool)
    _, singular, vt = np.linalg.svd(a, full_matrices=True)
    rank = int((singular > 1e-9).sum())
    return np.linalg.norm(vt[rank:], axis=0) < 1e-9


def children(km: str) -> np.ndarray:
    """The 25 cells of 200 m of a 1 km square."""
    parsed = parse_ids([km]).iloc[0]
    east = int(parsed["east"]) + 200 * np.repeat(np.arange(5), 5)
    north = int(parsed["north"]) + 200 * np.tile(np.arange(5), 5)
    return np.asarray(cell_ids(east, north, resolution=200), dtype=object)


def month_floor(day: pd.Timestamp) -> date:
    return date(day.year, day.month, 1)


def latest_month(truth: pd.DataFrame, k: int) -> date | None:
    """The latest month of k people (what the windows and profiles end with)."""
    months = truth.groupby(truth["date"].dt.to_period("M"))["who"].nunique()
    shown = months.index[months >= k]
    return None if not len(shown) else date(shown[-1].year, shown[-1].month, 1)


WORKSPACE_EXAMPLES = hsettings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
"""Each example writes a contact set into a workspace: twenty per property."""


# ------------------------------------------------------------------ 1. density views
@WORKSPACE_EXAMPLES
@given(
    drawn=contact_sets(),
    territories=st.tuples(
        st.sets(st.sampled_from(POOL_COMMUNES + OTHER_COMMUNES), min_size=1, max_size=4),
        st.sets(st.sampled_from(POOL_COMMUNES + OTHER_COMMUNES), min_size=1, max_size=4),
    ),
    view=st.integers(0, 100),
    cutoff=st.integers(0, 12),
)
def test_every_density_view_publishes_only_what_k_people_make(
    pool: Pool,
    fresh: Callable[[], Workspace],
    settings: Settings,
    drawn: Drawn,
    territories: tuple[set[str], set[str]],
    view: int,
    cutoff: int,
) -> None:
    """The map, each value of each filter, two overlapping territories, totals, months.

    - the protected partition is the one ``privacy.md`` describes, and no zone of 200 m
      holds fewer than k people (a merged cell is never shown on its own);
    - no published number comes from fewer than k people; numbers are rounded, never
      below the first multiple at or above k;
    - a zone shown with its parts (one filter's values) never leaves exactly one hidden
      part, nor hidden parts of fewer than k contacts, and no hidden part of fewer than k
      people follows from the shown totals and parts by addition and subtraction;
    - a zone has the same value in the whole map and in each territory's view;
    - the totals (home page, a territory's, what a purge would delete) and the months
      said about the contacts come from k people.
    """
    k = settings.k
    rows = lay(drawn, pool)
    ws = fresh()
    write(ws, rows)
    truth = truth_of(rows)
    one, two = sorted(territories[0]), sorted(territories[1] | {min(territories[0])})
    define_territory(ws, "Un", communes=one)
    define_territory(ws, "Deux", communes=two)

    # the protected partition, rebuilt from the rows
    zones = published.zones(ws, settings=settings)
    expected = expected_partition(truth, k)
    key = ["cell", "commune"]
    got = zones.astype(str).sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(
        got[[*key, "zone", "level"]], expected.astype(str).sort_values(key).reset_index(drop=True)
    )
    placed = truth.merge(expected, on=key)
    per_zone = tally(placed, "zone")
    small_cells = set(tally(truth, "cell").query(f"people < {k}").index)

    # the whole map
    whole = density_layer(ws, settings=settings).set_index("zone")
    assert set(whole.index) == set(per_zone.index)
    assert not set(whole.index) & small_cells
    check_values(whole[["count"]].join(per_zone), settings, "carte")
    cells = whole[whole["level"] == "200m"].join(per_zone)
    event(f"zones: {', '.join(sorted(set(whole['level'])))}")
    event(f"hidden zones: {', '.join(sorted(set(whole.loc[whole['count'].isna(), 'label'])))}")
    assert (cells["people"] >= k).all()
    total = summary(ws, settings=settings)["contacts"]
    check_total(total, truth, settings, "total")
    if number(total):  # zones are parts of the shown total
        hidden = whole["count"].isna()
        assert hidden.sum() != 1
        assert not hidden.any() or per_zone.loc[hidden[hidden].index, "n"].sum() >= k

    # each filter: every value, with the whole map beside it
    choices = breakdown_choices(ws, settings=settings)
    shown_zones = list(whole.index[whole["count"].notna()])
    frames: dict[str, pd.DataFrame] = {}
    for by in BREAKDOWNS:
        values = choices[by]
        if not values:
            continue
        frame = published.density_by(ws, by, parts=values, settings=settings)
        assert set(frame["zone"]) == set(whole.index)
        cells = frame.set_index(["zone", "part"])[["count", "status"]].join(
            tally(placed.rename(columns={by: "part"}), ["zone", "part"])
        )
        offered = cells[cells.index.get_level_values("part").isin(values)]
        check_values(offered, settings, by)
        assert not set(cells.index.get_level_values("zone")) & small_cells
        frames[by] = frame
        # a filter and its complement: the zone's total minus its shown parts
        hidden = (cells["status"] != PUBLISHED).to_numpy()
        offered = cells.index.get_level_values("part").isin(values)
        n = cells["n"].fillna(0).to_numpy()
        unseen = (hidden | ~offered) & (n > 0)
        per = pd.DataFrame(
            {
                "hidden": hidden,
                "hidden_n": np.where(hidden, n, 0),
                "unseen": unseen,
                "unseen_few": unseen & (cells["people"].fillna(0) < k).to_numpy(),
            },
            index=cells.index.get_level_values("zone"),
        ).groupby(level=0)
        per = per.sum().assign(parts=per.size())
        opened = per.index.isin(shown_zones)
        shown, closed = per[opened], per[~opened]
        assert (shown["hidden"] != 1).all(), (by, shown[shown["hidden"] == 1])
        assert ((shown["hidden"] == 0) | (shown["hidden_n"] >= k)).all(), by
        assert not ((shown["unseen"] == 1) & (shown["unseen_few"] == 1)).any(), by
        assert (closed["hidden"] == closed["parts"]).all(), by
        event(f"{by}: shown zones with hidden parts: {min(int((shown['hidden'] > 0).sum()), 3)}+")
        # every view of the filter together: no hidden part of fewer than k people is fixed
        unknown = cells[
            (cells["status"] != PUBLISHED) | ~cells.index.get_level_values("part").isin(values)
        ]
        # (the attacker is given each value's true total whenever protect() would show
        # it, and the workspace's total when the home page shows it)
        columns = tally(placed.rename(columns={by: "part"}), "part").assign(key=0)
        totals = protect(columns, settings=settings, total_people=truth["who"].nunique()).table
        known = [v for v in values if v in totals.index and totals.loc[v, "status"] == PUBLISHED]
        fixed = determined(list(unknown.index), shown_zones, known, everything=bool(number(total)))
        leaks = unknown[fixed & (unknown["n"].fillna(0) > 0).to_numpy()]
        assert not (leaks["people"] < k).any(), (by, leaks)

    # the map of one drawn filter value is that value's part of the frame checked above
    by = list(BREAKDOWNS)[view % len(BREAKDOWNS)]
    values = choices[by]
    value = values[view % len(values)] if values else None
    filtered = None
    if value:
        filtered = density_layer(ws, settings=settings, breakdown=(by, value)).set_index("zone")
        part = frames[by][frames[by]["part"] == value].set_index("zone")["count"]
        pd.testing.assert_series_equal(
            filtered["count"], part.reindex(filtered.index), check_names=False, obj=value
        )

    # two overlapping territories: one value per zone, whatever the view
    drawn_views = {}
    for name, communes in (("Un", one), ("Deux", two)):
        layer = density_layer(ws, settings=settings, territory=name).set_index("zone")
        drawn_views[name] = layer["count"]
        assert set(layer.index) <= set(whole.index)
        pd.testing.assert_series_equal(
            layer["count"], whole["count"].reindex(layer.index), obj=name
        )
        if filtered is not None and name == "Un":  # (the other: as the whole map)
            part = density_layer(ws, settings=settings, territory=name, breakdown=(by, value))
            part = part.set_index("zone")["count"]
            pd.testing.assert_series_equal(
                part, filtered["count"].reindex(part.index), obj=f"{name} {by}={value}"
            )
        label = summary(ws, settings=settings, territory=name)["contacts"]
        inside = truth[truth["commune"].isin(communes)]
        check_total(label, inside, settings, name)
        if set(inside["fingerprint"]) == set(truth["fingerprint"]):
            assert label == total  # the same records publish the same value

    common = drawn_views["Un"].index.intersection(drawn_views["Deux"].index)
    event(f"zones in both territories: {min(len(common), 3)}+")
    pd.testing.assert_series_equal(drawn_views["Un"][common], drawn_views["Deux"][common])

    # what a purge would delete, and the months said about the contacts
    day = (FIRST_DAY + pd.DateOffset(months=cutoff)).date()
    before = truth[truth["date"] < pd.Timestamp(day)]
    check_total(published.count_before(ws, day, settings=settings), before, settings, "purge")
    months = truth.groupby(truth["date"].dt.strftime("%Y-%m"))["who"].nunique()
    assert published.published_months(ws, settings=settings) == sorted(months.index[months >= k])
    quarters = choices["periode"]
    if quarters:
        first, last = months.index[months >= k][[0, -1]]
        span = pd.period_range(first, last, freq="Q")
        assert quarters == [f"{q.year}-T{q.quarter}" for q in span]


# ------------------------------------------------------ 2. indicators and profiles
def units(
    rows: pd.DataFrame, zones: gpd.GeoDataFrame, kind: str, present: set[str]
) -> tuple[np.ndarray, np.ndarray]:
    """The unit of each placed row (commune, QPV or 1 km cell), sure and possible.

    ``sure``: the unit its commune (communes) or its 200 m zone's cell (QPV and 1 km
    cells) lies in; rows of 1 km zones and of the rest of a commune belong to none.
    ``maybe``: also the unit of a 1 km zone whose 25 cells all lie in it — what the docs
    of :func:`territory.privacy.published.zone_window_counts` say; the product counts
    them only when each of the 25 cells holds a contact of the windows (``present``),
    see :func:`test_a_1km_zone_counts_in_its_1km_indicator`.
    """
    rest = np.full(len(rows), None, dtype=object)
    if kind == "commune":
        codes = set(zones["code"].astype(str))
        own = rows["commune"].where(rows["commune"].isin(codes)).to_numpy(dtype=object)
        return own, own
    sure = rest.copy()
    at_cell = (rows["level"] == "200m").to_numpy()
    if at_cell.any():
        cells = rows.loc[at_cell, "cell"].to_numpy(dtype=object)
        sure[at_cell] = cells_in_zones(cells, zones, kind=kind)
    maybe = sure.copy()
    at_km = (rows["level"] == "1km").to_numpy()
    for km in set(rows.loc[at_km, "zone"]):
        owners = set(cells_in_zones(children(km), zones, kind=kind))
        if len(owners) == 1 and None not in owners:
            maybe[at_km & (rows["zone"] == km).to_numpy()] = owners.pop()
        assert not set(children(km)) <= present  # the pool never fills a square
    return sure, maybe


def slot_of(rows: pd.DataFrame) -> pd.Series:
    """The (weekday, first hour) slot of each row, None outside the outreach day."""
    h0, h1 = SLOT_HOURS
    start = h0 + (rows["hour"] - h0) // 2 * 2
    inside = (rows["hour"] >= h0) & (rows["hour"] < h1)
    codes = rows["date"].dt.day_of_week * 100 + start
    return codes.where(inside)


def check_profile(profile, rows: pd.DataFrame, settings: Settings, where: str) -> None:
    """A published weekday × slot profile against the people of ``rows`` per slot."""
    table = profile.table
    codes = table["jour"] * 100 + table["debut"]
    truth = tally(rows.assign(slot=slot_of(rows)).dropna(subset=["slot"]), "slot")
    frame = pd.DataFrame({"count": table["contacts"].to_numpy()}, index=codes.to_numpy())
    check_values(frame.join(truth), settings, where)


def dense_rows(pool: Pool, *, tag: str) -> pd.DataFrame:
    """Eleven to thirteen people in every slot of the week, in the pool's first cell.

    Each contact is a person of its own, met in June 2026 (the 1st is a Monday).
    """
    monday = pd.Timestamp("2026-06-01")
    records = [
        (monday + pd.Timedelta(days=day + 7 * (n % 4)), start + n % 2)
        for day in range(7)
        for start in range(SLOT_HOURS[0], SLOT_HOURS[1], 2)
        for n in range(11 + (day + start) % 3)
    ]
    prints = [f"{tag}{i:015x}" for i in range(len(records))]
    return pd.DataFrame(
        {
            "cell": pool.cells[0],
            "commune": pool.communes[0],
            "date": [d.strftime("%Y-%m-%d") for d, _ in records],
            "hour": [h for _, h in records],
            "statut": "hors radars",
            "tranche_age": "18-21",
            "sexe": "F",
            "partenaire": "",
            "personne": [f"{0xDE00000 + i:016x}" for i in range(len(records))],
            "fingerprint": prints,
            "who": [f"{0xDE00000 + i:016x}" for i in range(len(records))],
        }
    )


@WORKSPACE_EXAMPLES
@given(
    drawn=contact_sets(),
    territory=st.sets(st.sampled_from(POOL_COMMUNES + OTHER_COMMUNES), min_size=1, max_size=4),
    dense=st.booleans(),
    pick=st.integers(0, 100),
)
def test_indicators_and_profiles_publish_only_what_k_people_make(
    pool: Pool,
    fresh: Callable[[], Workspace],
    settings: Settings,
    drawn: Drawn,
    territory: set[str],
    dense: bool,
    pick: int,
) -> None:
    """Indicators by commune, QPV and 1 km cell, and weekday profiles, on the partition.

    Each count of the two contact windows (whole workspace and a territory) comes from k
    people of the unit; the hors-radars share only from parts of k people; a profile
    (the territory's, a commune's, a QPV's, a 1 km cell's) shows slots of k people only,
    of the level it belongs to (the zone's own when the zone has k people; else the
    commune's, the EPCI's or the territory's, value for value), and a level's number of
    people is published only from k people.
    """
    k = settings.k
    rows = lay(drawn, pool)
    if dense:
        rows = pd.concat([rows, dense_rows(pool, tag="d")], ignore_index=True)
    ws = fresh()
    write(ws, rows)
    truth = truth_of(rows)
    define_territory(ws, "Choisi", communes=sorted(territory))
    scopes: list[tuple[str | None, set[str] | None]] = [(None, None), ("Choisi", territory)]
    if dense:  # the dense commune alone: its own profile can be published
        define_territory(ws, "Dense", communes=[pool.communes[0]])
        scopes.append(("Dense", {pool.communes[0]}))
    placed = truth.merge(expected_partition(truth, k), on=["cell", "commune"])

    month = latest_month(truth, k)
    assert published.latest_month(ws, settings=settings) == month
    for name, communes in scopes:
        scoped = placed if communes is None else placed[placed["commune"].isin(communes)]
        if name != "Dense":
            zone_sets = {kind: zones_of(ws, kind, name) for kind in ("commune", "qpv", "cell")}
            tables = protected_contacts_many(
                ws,
                zone_sets,  # type: ignore[arg-type]
                settings=settings,
                communes=None if name is None else resolve(ws, name),
            )
            for kind, zones in zone_sets.items():
                check_indicators(tables[kind], zones, kind, settings, scoped, month, str(name))

        # the weekday profiles: the territory's, then one zone of each kind
        whole = contact_profile(ws, settings=settings, communes=communes)
        if month is None:
            assert whole.period is None and whole.table["contacts"].isna().all()
            continue
        end = pd.Timestamp(month) + pd.offsets.MonthEnd(0)
        begin = end - pd.DateOffset(months=12) + pd.Timedelta(days=1)
        assert whole.period == (begin.date(), end.date())
        period = scoped[(scoped["date"] >= begin) & (scoped["date"] <= end)]
        check_profile(whole, period, settings, f"{name} profil")
        for kind, zone in zone_choices(ws, name, pool, pick):
            mine = zone_rows(period, zone, kind)
            profile = contact_profile(
                ws, settings=settings, zone=zone, kind=kind, communes=communes
            )
            where = f"{name} profil {kind} {zone['code'].iloc[0]}"
            event(f"{kind} profile: {profile.scope}")
            own = profile.levels[0]
            met = mine["who"].nunique()  # people of the zone: none is said as 0, few hidden
            assert (own.people == 0) == (met == 0) and (own.people is None) == (0 < met < k), where
            if profile.scope == "zone":
                check_profile(profile, mine, settings, where)
            elif profile.scope == "territoire":
                shown = ["contacts", "libelle", "statut"]
                pd.testing.assert_frame_equal(profile.table[shown], whole.table[shown], obj=where)
            else:  # the commune's or the EPCI's published counts
                level = next(lv for lv in profile.levels if lv.level == profile.scope)
                check_profile(
                    profile, period[period["commune"].isin(level.communes)], settings, where
                )
            assert abs(sum(lv.share for lv in profile.levels) - 1) < 1e-9 or not any(
                lv.people for lv in profile.levels
            ), where


_ZONES: dict[tuple[str, frozenset[str] | None], gpd.GeoDataFrame] = {}
"""Zones of the base workspace per kind and territory: they do not depend on contacts."""


def zones_of(ws: Workspace, kind: str, territory: str | None) -> gpd.GeoDataFrame:
    """:func:`load_zones` of ``ws`` (kept per kind and communes of the territory)."""
    communes = None if territory is None else frozenset(resolve(ws, territory))
    if (kind, communes) not in _ZONES:
        _ZONES[kind, communes] = load_zones(ws, kind, territory=territory)  # type: ignore[arg-type]
    return _ZONES[kind, communes]


def check_indicators(
    table: pd.DataFrame,
    zones: gpd.GeoDataFrame,
    kind: str,
    settings: Settings,
    scoped: pd.DataFrame,
    month: date | None,
    territory: str,
) -> None:
    """The contact indicators ``table`` of ``zones`` against the truth of ``scoped``.

    Where no 1 km zone of the partition could count in a unit, its people are known
    exactly (:func:`units`, ``sure``) and every figure is checked; elsewhere a published
    number must come from k people of the wider set.
    """
    k = settings.k
    if month is None:
        assert (table["contacts_recents_statut"] == "absent").all()
        return
    windows = contact_windows(month)
    start, end = pd.Timestamp(windows.previous[0]), pd.Timestamp(windows.recent[1])
    inside = scoped[(scoped["date"] >= start) & (scoped["date"] <= end)]
    sure, maybe = units(inside, zones, kind, set(inside["cell"]))
    recent = (inside["date"] >= pd.Timestamp(windows.recent[0])).to_numpy()
    status = (inside["statut"] == "hors radars").to_numpy()
    codes = zones["code"].astype(str).to_numpy()
    share = table["hors_radars_part"].to_numpy(dtype="float64", na_value=np.nan)
    for column, mask in (
        ("contacts_recents", recent),
        ("contacts_precedents", ~recent),
        ("hors_radars", recent & status),
        ("autres", recent & ~status),
    ):
        exact = tally(inside[mask].assign(unit=sure[mask]).dropna(subset=["unit"]), "unit")
        wide = tally(inside[mask].assign(unit=maybe[mask]).dropna(subset=["unit"]), "unit")
        exact, wide = exact.reindex(codes), wide.reindex(codes)
        same = (exact["n"].fillna(0) == wide["n"].fillna(0)).to_numpy()
        label = f"{territory} {kind} {column}"
        if column in ("hors_radars", "autres"):  # a share comes from two published parts
            few = (exact["people"].fillna(0) > 0) & (exact["people"].fillna(0) < k)
            assert np.isnan(share[same & few.to_numpy()]).all(), label
            continue
        assert table[f"{column}_statut"].isin([PUBLISHED, SECONDARY, "sous le seuil"]).all()
        count = table[column].to_numpy(dtype="float64", na_value=np.nan)
        check_values(exact[same].assign(count=count[same]), settings, label)
        shown = ~np.isnan(count) & (np.nan_to_num(count) > 0)
        assert (wide["people"].fillna(0).to_numpy()[shown] >= k).all(), label


def zone_choices(
    ws: Workspace, territory: str | None, pool: Pool, pick: int
) -> list[tuple[str, gpd.GeoDataFrame]]:
    """One commune, one QPV and one 1 km cell of the territory (those of the pool first)."""
    out = []
    communes = zones_of(ws, "commune", territory)
    busy = communes[communes["code"].isin(pool.communes)]
    if len(busy):
        out.append(("commune", busy.iloc[[pick % len(busy)]].reset_index(drop=True)))
    qpv = zones_of(ws, "qpv", territory)
    if len(qpv):
        out.append(("qpv", qpv.iloc[[pick % len(qpv)]].reset_index(drop=True)))
    squares = zones_of(ws, "cell", territory)
    mine = squares[squares["code"].isin(set(parent_ids(list(pool.cells))))]
    if len(mine):
        out.append(("cell", mine.iloc[[pick % len(mine)]].reset_index(drop=True)))
    return out


def zone_rows(rows: pd.DataFrame, zone: gpd.GeoDataFrame, kind: str) -> pd.DataFrame:
    """The placed rows a zone's profile counts: its commune, or its partition zones.

    Those of the 200 m zones whose cell lies in the zone, and of the 1 km zones whose 25
    cells all do; the rest of a commune lies in no zone below the commune.
    """
    code = str(zone["code"].iloc[0])
    if kind == "commune":
        return rows[rows["commune"] == code]
    inside = np.zeros(len(rows), dtype=bool)
    at_cell = (rows["level"] == "200m").to_numpy()
    if at_cell.any():
        owner = cells_in_zones(rows.loc[at_cell, "cell"].to_numpy(dtype=object), zone, kind=kind)
        inside[at_cell] = owner == code
    at_km = (rows["level"] == "1km").to_numpy()
    for km in set(rows.loc[at_km, "zone"]):
        if (cells_in_zones(children(km), zone, kind=kind) == code).all():
            inside |= at_km & (rows["zone"] == km).to_numpy()
    return rows[inside]


# -------------------------------------------------- 3. the same records, the same value
def views(ws: Workspace, settings: Settings, territories: list[str]) -> dict[str, pd.Series]:
    """Every published density value (by zone, and by zone and part) and the totals."""
    out = {"carte": published.density(ws, settings=settings).set_index("zone")["count"]}
    choices = breakdown_choices(ws, settings=settings)
    for by in BREAKDOWNS:
        frame = published.density_by(ws, by, parts=choices[by], settings=settings)
        out[by] = frame.set_index(["zone", "part"])["count"]
    # (the totals of the home page: summary() shows contact_total of the territory)
    totals = {
        name or "tout": published.contact_total(
            ws, scope=None if name is None else resolve(ws, name), settings=settings
        )
        for name in [None, *territories]
    }
    out["totaux"] = pd.Series(totals, dtype=object)
    cutoffs = [(FIRST_DAY + pd.DateOffset(months=m)).date() for m in (4, 8)]
    out["purge"] = pd.Series(
        {c: published.count_before(ws, c, settings=settings) for c in cutoffs}, dtype=object
    )
    return out


def records(truth: pd.DataFrame, by: str | list[str]) -> pd.Series:
    """The set of records (fingerprints) behind each value of ``by``."""
    return truth.groupby(by, observed=True)["fingerprint"].agg(frozenset)


@WORKSPACE_EXAMPLES
@given(
    drawn=contact_sets(min_size=100, max_size=260),
    extra=contact_sets(min_size=5, max_size=60),
    where=st.sampled_from(POOL_COMMUNES),
    territory=st.sets(st.sampled_from(POOL_COMMUNES), min_size=1, max_size=3),
)
def test_the_same_records_publish_the_same_values_before_and_after_an_import(
    pool: Pool,
    fresh: Callable[[], Workspace],
    settings: Settings,
    drawn: Drawn,
    extra: Drawn,
    where: str,
    territory: set[str],
) -> None:
    """Records added in one commune move only the values whose records changed.

    Before and after the addition, a zone (or a zone and filter value, a territory's
    total, what a purge would delete) whose records did not change publishes the same
    value: two states of the file differ by noise on what changed, never by an exact
    count. Deleting the added records gives back every value, status included.
    """
    k = settings.k
    rows = lay(drawn, pool, tag="a")
    added = lay(extra, pool, within=pool.of(where), tag="b")
    ws = fresh()
    write(ws, rows)
    define_territory(ws, "Choisi", communes=sorted(territory))
    before = views(ws, settings, ["Choisi"])
    write(ws, added)
    after = views(ws, settings, ["Choisi"])

    old, new = truth_of(rows), truth_of(pd.concat([rows, added], ignore_index=True))
    old_placed = old.merge(expected_partition(old, k), on=["cell", "commune"])
    new_placed = new.merge(expected_partition(new, k), on=["cell", "commune"])
    for name in ("carte", *BREAKDOWNS):
        by: str | list[str] = "zone" if name == "carte" else ["zone", name]
        unchanged = records(old_placed, by).eq(
            records(new_placed, by).reindex(records(old_placed, by).index)
        )
        keys = unchanged.index[unchanged.to_numpy()]
        if name != "carte":
            keys = keys.rename(["zone", "part"])
        a = before[name].reindex(keys)
        b = after[name].reindex(keys)
        both = a.notna() & b.notna()
        event(f"{name}: unchanged values compared: {min(int(both.sum()), 3)}+")
        assert (a[both] == b[both]).all(), (name, pd.concat([a, b], axis=1)[both & (a != b)])
    scope = set(resolve(ws, "Choisi"))
    if where not in scope:
        assert before["totaux"]["Choisi"] == after["totaux"]["Choisi"]
    for cutoff, label in before["purge"].items():
        if not (added["date"] < cutoff.isoformat()).any():
            assert after["purge"][cutoff] == label, cutoff

    raw.delete_contacts(ws, added["fingerprint"])
    again = views(ws, settings, ["Choisi"])
    for name, values in before.items():
        pd.testing.assert_series_equal(again[name], values, obj=name)


# ------------------------------------------------------------------ a 1 km zone of the map
def test_a_1km_zone_counts_in_its_1km_indicator(
    pool: Pool, fresh: Callable[[], Workspace], settings: Settings
) -> None:
    k = settings.k
    km = parent_ids([pool.cells[0]])[0]
    square = children(km)
    ws = fresh()
    people = [(cell, f"{cell}-{p}") for cell in square[:3] for p in range(5)]
    rows = pd.DataFrame(
        {
            "cell": [c for c, _ in people],
            "commune": pool.communes[0],
            "date": "2026-10-12",
            "hour": 10,
            "statut": "hors radars",
            "tranche_age": "18-21",
            "sexe": "F",
            "partenaire": "",
            "personne": [p for _, p in people],
            "fingerprint": [f"km{i:014x}" for i in range(len(people))],
        }
    )
    raw.append_contacts(ws, rows, source="essai", vintage="", licence="")
    density = published.density(ws, settings=settings).set_index("zone")
    assert density.loc[km, "level"] == "1km" and len(people) >= k  # one 1 km zone, 15 people
    cells = load_zones(ws, "cell")
    table = protected_contacts(ws, cells, kind="cell", settings=settings)
    recent = table.loc[cells["code"] == km, "contacts_recents"].iloc[0]
    assert pd.isna(recent) or recent > 0
