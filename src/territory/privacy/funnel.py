"""The programme funnel, protected: people per step, exit class, zone type and month.

Each person (pseudonym; a contact without one is a person of its own) reaches, in a
territory and a period, a **furthest step** of :data:`STEPS`, read from

* the statuses of their contacts in the territory's communes during the period
  (:data:`STATUS_STEP`: premier contact / contact répété → ``contact``, hors radars,
  entrée en parcours, accompagné, sortie positive → ``sortie``; another or no status →
  ``contact``);
* the stored parcours rows (:mod:`territory.privacy.parcours`) of the people of the
  territory (met there at least once up to the period's end): a pathway entered in the
  period → ``entrée en parcours``; an exit in the period → ``sortie``, with its exit
  class. ``accompagné`` comes from the statuses only (a pathway's file says when it began
  and ended, not whether the person is being accompanied).

A person counts in every step up to their furthest (the steps are nested); a person whose
furthest step is ``sortie`` has one exit class (the latest exit of the period; a
``sortie positive`` status without a parcours exit: ``sortie positive``), so the classes
sum to ``sortie``. Their **zone type** in a territory is ``QPV`` when they were met there
in a 200 m cell whose centre lies in a QPV (and that the protected partition keeps below
the commune: ``privacy.md`` rule 2), else ``rural`` when met in a commune of density
level 5 to 7, else ``autre`` — over their contacts in the territory up to the period's
end, QPV first; so the zone types sum to each step.

Every number returned is protected (:mod:`territory.privacy.protect`), with **people as
the records**: each person is one record whose key is the sum of the record keys of the
contacts and parcours rows that place them (so the same people always give the same
published value, and two overlapping territories, a quarter and its year, a filter and
its complement differ by noise): threshold k on people, cell-key perturbation and
rounding; the exit classes and the zone types are protected as parts of their step with
secondary suppression. A month of the trends is shown only when k people were met in the
territory that month. Nothing raw leaves this module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from territory._fr import format_number
from territory.grid import parent_ids
from territory.privacy import raw
from territory.privacy.parcours import parcours_frame
from territory.privacy.protect import LEVEL_COMMUNE, partition, protect_rows, publish
from territory.settings import Settings
from territory.store import Workspace

__all__ = [
    "EXIT_CLASSES",
    "STATUS_STEP",
    "STEPS",
    "ZONE_TYPES",
    "FunnelTables",
    "ZoneTyper",
    "commune_people",
    "funnel",
]

STEPS: tuple[str, ...] = ("contact", "hors radars", "entrée en parcours", "accompagné", "sortie")
"""The funnel, in order."""
EXIT_CLASSES: tuple[str, ...] = (
    "emploi durable",
    "emploi de transition",
    "sortie positive",
    "autre",
)
"""The funders' exit classes."""
ZONE_TYPES: tuple[str, ...] = ("QPV", "rural", "autre")
STATUS_STEP = {
    "premier contact": 0,
    "contact répété": 0,
    "hors radars": 1,
    "entrée en parcours": 2,
    "accompagné": 3,
    "sortie positive": 4,
}
"""The funnel step (index in :data:`STEPS`) of each contact status; any other: 0."""
_SORTIE = 4
_POSITIVE = EXIT_CLASSES.index("sortie positive")
_ZONE_QPV, _ZONE_RURAL, _ZONE_OTHER = 2, 1, 0  # max over contacts: QPV first
_ZONE_NAMES = {_ZONE_QPV: "QPV", _ZONE_RURAL: "rural", _ZONE_OTHER: "autre"}

ZoneTyper = Callable[
    [npt.NDArray[np.object_], npt.NDArray[np.object_]],
    tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]],
]
"""Given distinct (cell, commune) pairs: whether each cell's centre is in a QPV, and
whether each commune is rural (density levels 5-7). It must depend on the workspace's
state only (it is cached with it)."""


@dataclass(frozen=True)
class FunnelTables:
    """Protected long tables (``count`` Int64, NA when hidden; ``label`` what to show).

    ``steps``: territory, step, count, label. ``exits``: territory, classe, count, label.
    ``zones``: territory, zone, step, count, label. ``trends``: territory, month, step,
    count, label. ``notes``: French sentences (no number about people).
    ``latest_month``: the last month (``"2026-10"``) in which at least k people were met
    in the whole workspace (the only date said about the contacts, ``privacy.md`` rule 5).
    """

    steps: pd.DataFrame
    exits: pd.DataFrame
    zones: pd.DataFrame
    trends: pd.DataFrame
    notes: tuple[str, ...]
    latest_month: str | None = None


def funnel(
    ws: Workspace,
    territories: Mapping[str, frozenset[str]],
    *,
    first: str,
    last: str,
    zone_typer: ZoneTyper | None,
    settings: Settings,
    trends: bool = True,
) -> FunnelTables:
    """The protected funnel of each territory (its commune codes) from month ``first`` to ``last``.

    ``first`` and ``last`` are months (``"2026-01"``, both included). Kept per state of
    the file, territories, period and settings.
    """
    raw.migrate(ws)
    state = (ws.key, ws.changed_ns, ws.version)
    key = tuple((name, tuple(sorted(codes))) for name, codes in territories.items())
    return _funnel(
        state, key, first, last, settings.k, settings.rounding, trends, _Typer(zone_typer)
    )


def commune_people(
    ws: Workspace,
    territories: Mapping[str, frozenset[str]],
    *,
    first: str,
    last: str,
    settings: Settings,
) -> pd.DataFrame:
    """People met in each commune of each territory from month ``first`` to ``last``, protected.

    For the small-multiple maps. One row per territory and commune code (``territory``,
    ``commune``, ``count`` Int64 NA when hidden, ``label``): the distinct people met in
    the commune in the period, each person one record whose key is the sum of their
    contacts' record keys there (the same people, the same published value, whichever
    territory or view shows the commune); threshold k, perturbation and rounding as
    every count. The communes are parts of their territory, whose total the funnel
    publishes: a territory with exactly one hidden commune (with people) gets a second
    one hidden (« secret »: the smallest published), and a commune hidden in one
    territory is hidden in every territory (else a map that shows it would undo the
    other's suppression); repeated until no territory has a lone hidden commune.
    """
    raw.migrate(ws)
    state = (ws.key, ws.changed_ns, ws.version)
    key = tuple((name, tuple(sorted(codes))) for name, codes in territories.items())
    return _commune_people(state, key, first, last, settings.k, settings.rounding).copy()


@lru_cache(maxsize=16)
def _commune_people(
    state: tuple[str, int, int],
    territories: tuple[tuple[str, tuple[str, ...]], ...],
    first_text: str,
    last_text: str,
    k: int,
    rounding: int,
) -> pd.DataFrame:
    base = _base(*state)
    first, last = _month(first_text), _month(last_text)
    width = max(len(base.communes), 1)
    during = (base.month >= first) & (base.month <= last) & (base.commune >= 0)
    commune = base.commune[during]
    pairs = pd.unique(base.person[during] * width + commune)  # (person, commune) met
    n = np.bincount(pairs % width, minlength=width).astype(np.int64)
    keys = _sums(commune, base.key[during], width)  # a person's key: their contacts' keys
    values = publish(n, keys, settings=Settings(k=k, rounding=rounding))
    hidden = (n > 0) & (n < k)
    secret = np.zeros(width, dtype=bool)
    members = []
    for _, codes in territories:
        found = base.communes.get_indexer(list(codes))
        members.append(found[found >= 0])
    changed = True
    while changed:  # secondary suppression, the same communes hidden in every territory
        changed = False
        for found in members:
            peopled = found[n[found] > 0]
            if int((hidden | secret)[peopled].sum()) != 1:
                continue
            shown = peopled[~(hidden | secret)[peopled]]
            if len(shown):
                smallest = min(shown, key=lambda i: (values[i], str(base.communes[i])))
                secret[smallest] = True
                changed = True
    rows = []
    for (name, codes), found in zip(territories, members, strict=True):
        at = dict(zip(base.communes[found], found, strict=True))
        for code in codes:
            i = at.get(code)
            if i is None or n[i] == 0:
                rows.append((name, code, 0, "0"))
            elif hidden[i]:
                rows.append((name, code, pd.NA, f"< {k}"))
            elif secret[i]:
                rows.append((name, code, pd.NA, "secret"))
            else:
                rows.append((name, code, int(values[i]), format_number(int(values[i]))))
    out = pd.DataFrame(rows, columns=["territory", "commune", "count", "label"])
    out["count"] = out["count"].astype("Int64")
    return out


# ------------------------------------------------------------------------------ private
@dataclass(frozen=True)
class _Typer:
    """The zone typer, out of the cache key (it depends on the state, which is in it)."""

    typer: ZoneTyper | None

    def __hash__(self) -> int:
        return 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Typer)


@dataclass(frozen=True)
class _Base:
    """The contacts and parcours of one state of the file, compact (raw).

    The contacts' arrays (``person`` … ``key``) are sorted by person.
    """

    person: npt.NDArray[np.int64]
    commune: npt.NDArray[np.int64]  # code into ``communes``
    communes: pd.Index
    place: npt.NDArray[np.int64]  # code into the distinct (cell, commune) pairs
    cells: npt.NDArray[np.object_]  # per place
    place_communes: npt.NDArray[np.object_]  # per place
    month: npt.NDArray[np.int64]  # months since 1970-01
    rank: npt.NDArray[np.int64]
    key: npt.NDArray[np.int64]
    parcours: pd.DataFrame  # person, entry, exit (months; exit -1: open), klass, key
    unmatched: bool  # some parcours rows have no contact: counted nowhere


def _month(text: str) -> int:
    year, month = text.split("-")[:2]
    return (int(year) - 1970) * 12 + int(month) - 1


def _months(texts: pd.Series) -> npt.NDArray[np.int64]:
    """:func:`_month` of each ``"2026-03"`` (-1 for an empty text), vectorised."""
    text = texts.astype(str)
    known = text.str.len().to_numpy() >= 7
    year = pd.to_numeric(text.str[:4], errors="coerce").fillna(1970).to_numpy(dtype=np.int64)
    month = pd.to_numeric(text.str[5:7], errors="coerce").fillna(1).to_numpy(dtype=np.int64)
    return np.where(known, (year - 1970) * 12 + month - 1, -1)


def _month_text(m: int) -> str:
    return f"{1970 + m // 12:04d}-{m % 12 + 1:02d}"


@lru_cache(maxsize=2)
def _base(path: str, mtime_ns: int, version: int) -> _Base:
    ws = Workspace.open(Path(path))
    frame = raw.contact_frame(ws, columns=["date", "statut", "personne"])
    statut = frame["statut"]
    if not isinstance(statut.dtype, pd.CategoricalDtype):
        statut = statut.astype(object).fillna("").astype(str).astype("category")
    lookup = np.array([STATUS_STEP.get(str(c), 0) for c in statut.cat.categories] + [0])
    rank = lookup[np.asarray(statut.cat.codes, dtype=np.int64)]  # -1 (missing): the last, 0
    months = (
        frame["date"].to_numpy().astype("datetime64[M]").astype(np.int64)
        if len(frame)
        else np.zeros(0, np.int64)
    )
    commune = pd.Categorical(frame["commune"]) if len(frame) else pd.Categorical([])
    cell = pd.Categorical(frame["cell"]) if len(frame) else pd.Categorical([])
    # a place is a distinct (cell, commune): one integer per pair, decoded once per place
    width = max(len(commune.categories), 1)
    pair = np.asarray(cell.codes, dtype=np.int64) * width + np.asarray(commune.codes, np.int64)
    distinct, place = np.unique(pair, return_inverse=True)
    cell_names = np.asarray(cell.categories.astype(str), dtype=object)
    commune_names = np.asarray(commune.categories.astype(str), dtype=object)
    person = frame["person"].to_numpy(dtype=np.int64)
    stored = parcours_frame(ws)
    unmatched = False
    if len(stored) and len(frame):
        pseudonym = frame["personne"].astype("category")
        codes = np.asarray(pseudonym.cat.codes, dtype=np.int64)
        seen, at = np.unique(codes, return_index=True)
        keep = seen >= 0
        owner = pd.Series(person[at[keep]], index=pseudonym.cat.categories[seen[keep]])
        owner = owner[owner.index != ""]
        who = owner.reindex(stored["personne"].to_numpy()).to_numpy()
        unmatched = bool(np.isnan(who).any())
        klass = stored["classe"].map({c: i for i, c in enumerate(EXIT_CLASSES)})
        found = ~np.isnan(who)
        parcours = pd.DataFrame(
            {
                "person": who[found].astype(np.int64),
                "entry": _months(stored["entree"][found]),
                "exit": _months(stored["sortie"][found]),
                "klass": klass[found].fillna(len(EXIT_CLASSES) - 1).astype(np.int64).to_numpy(),
                "key": stored["cle"][found].to_numpy(dtype=np.int64),
            }
        )
    else:
        unmatched = bool(len(stored))
        parcours = pd.DataFrame({c: pd.Series(dtype=np.int64)
                                 for c in ("person", "entry", "exit", "klass", "key")})  # fmt: skip
    # rows sorted by person once: a territory's people are then runs of its rows
    # (:func:`_people` reduces them with ``reduceat`` instead of a group-by per call)
    order = np.argsort(person, kind="stable")
    return _Base(
        person=person[order],
        commune=np.asarray(commune.codes, dtype=np.int64)[order],
        communes=pd.Index(commune.categories.astype(str)),
        place=np.asarray(place, dtype=np.int64)[order],
        cells=cell_names[distinct // width] if len(distinct) else np.zeros(0, dtype=object),
        place_communes=(
            commune_names[distinct % width] if len(distinct) else np.zeros(0, dtype=object)
        ),
        month=months[order],
        rank=np.asarray(rank, dtype=np.int64)[order],
        key=frame["key"].to_numpy(dtype=np.int64)[order],
        parcours=parcours,
        unmatched=unmatched,
    )


@lru_cache(maxsize=4)
def _zone_of_place(
    path: str, mtime_ns: int, version: int, k: int, typer: _Typer
) -> npt.NDArray[np.int64]:
    """The zone type code of each distinct (cell, commune) of the contacts."""
    base = _base(path, mtime_ns, version)
    out = np.full(len(base.cells), _ZONE_OTHER, dtype=np.int64)
    if typer.typer is None or not len(out):
        return out
    in_qpv, rural = typer.typer(base.cells, base.place_communes)
    # rule 2: a cell the protected partition merges into its commune is no QPV. The
    # partition reads distinct people per cell and per 1 km square: one record per
    # (person, place) is enough, cells and communes as categories (no string per row).
    places = len(out)
    in_qpv = np.asarray(in_qpv, dtype=bool)
    out[np.asarray(rural, dtype=bool)] = _ZONE_RURAL
    if not in_qpv.any():
        return out
    # a cell's level depends on its own people and on its 1 km square's: only the squares
    # holding a QPV cell are read
    squares = parent_ids(base.cells)
    wanted = pd.Index(squares).isin(pd.unique(squares[in_qpv]))
    rows = wanted[base.place]
    pairs = pd.unique(base.person[rows] * places + base.place[rows])  # hashed, not sorted
    where = pairs % places
    cell_code, cell_names = pd.factorize(base.cells)
    commune_code, commune_names = pd.factorize(base.place_communes)
    cells, communes = pd.Index(cell_names, dtype=object), pd.Index(commune_names, dtype=object)
    records = pd.DataFrame(
        {
            "cell": pd.Categorical.from_codes(cell_code[where], categories=cells),
            "commune": pd.Categorical.from_codes(commune_code[where], categories=communes),
            "person": pairs // places,
        }
    )
    zones = partition(records, k=k)
    # (cell, commune) as one integer, matched on codes rather than on a text MultiIndex
    width = max(len(communes), 1)
    merged = pd.Series(
        zones["level"].to_numpy() == LEVEL_COMMUNE,
        index=np.asarray(zones["cell"].cat.codes, dtype=np.int64) * width
        + np.asarray(zones["commune"].cat.codes, dtype=np.int64),
    )
    rolled = merged.reindex(cell_code.astype(np.int64) * width + commune_code)
    out[in_qpv & ~rolled.fillna(True).to_numpy(dtype=bool)] = _ZONE_QPV
    return out


@lru_cache(maxsize=4)
def _latest_month(path: str, mtime_ns: int, version: int, k: int) -> str | None:
    base = _base(path, mtime_ns, version)
    if not len(base.month):
        return None
    people = pd.DataFrame({"m": base.month, "p": base.person}).groupby("m")["p"].nunique()
    enough = people.index[people.to_numpy() >= k]
    return _month_text(int(enough.max())) if len(enough) else None


def _parcours_ranks(parcours: pd.DataFrame, first: int, last: int) -> pd.DataFrame:
    """Per person, the furthest step the parcours give in months [first, last], key, class."""
    entry, exit_ = parcours["entry"].to_numpy(), parcours["exit"].to_numpy()
    rank = np.full(len(parcours), -1, dtype=np.int64)
    rank[(entry >= first) & (entry <= last)] = 2
    exited = (exit_ >= first) & (exit_ <= last)
    rank[exited] = _SORTIE
    rows = parcours.assign(rank=rank, exited=np.where(exited, exit_, -1))[rank >= 0]
    if rows.empty:
        return pd.DataFrame({"rank": [], "pkey": [], "klass": []}, dtype=np.int64)
    rows = rows.sort_values(["person", "exited"], kind="stable")
    grouped = rows.groupby("person", sort=False)
    return pd.DataFrame(
        {
            "rank": grouped["rank"].max(),
            "pkey": grouped["key"].sum(),
            "klass": grouped["klass"].last().where(grouped["exited"].max() >= 0, -1),
        }
    ).astype(np.int64)


def _people(
    base: _Base, zone: npt.NDArray[np.int64], inside: npt.NDArray[np.bool_], first: int, last: int,
    ranks: pd.DataFrame,
) -> pd.DataFrame:  # fmt: skip
    """One row per person of the territory in the period: rank, key, zone, exit class."""
    rows = np.flatnonzero(inside & (base.month <= last))  # sorted by person (:func:`_base`)
    person = base.person[rows]
    during = base.month[rows] >= first
    starts = np.flatnonzero(np.r_[True, person[1:] != person[:-1]]) if len(rows) else rows
    people = pd.DataFrame(
        {
            "rank": np.maximum.reduceat(np.where(during, base.rank[rows], -1), starts),
            "key": np.add.reduceat(np.where(during, base.key[rows], 0), starts),
            "zone": np.maximum.reduceat(zone[base.place[rows]], starts),
        }
        if len(rows)
        else {c: np.zeros(0, dtype=np.int64) for c in ("rank", "key", "zone")},
        index=pd.Index(person[starts], name="person"),
    )
    joined = ranks.reindex(people.index)
    prank = joined["rank_p"].fillna(-1).to_numpy(dtype=np.int64)
    rank = np.maximum(people["rank"].to_numpy(), prank)
    key = people["key"].to_numpy() + np.where(prank >= 0, joined["pkey"].fillna(0), 0).astype(
        np.int64
    )
    klass = joined["klass"].fillna(-1).to_numpy(dtype=np.int64)
    klass = np.where(rank == _SORTIE, np.where(klass >= 0, klass, _POSITIVE), -1)
    out = pd.DataFrame({"rank": rank, "key": key, "zone": people["zone"].to_numpy(),
                        "klass": klass}, index=people.index)  # fmt: skip
    return out[out["rank"] >= 0]


def _published(n: npt.NDArray[np.int64], key: npt.NDArray[np.int64], k: int, rounding: int
               ) -> tuple[pd.arrays.IntegerArray, list[str]]:  # fmt: skip
    """Threshold on people (records are people) then perturbation: values and labels."""
    settings = Settings(k=k, rounding=rounding)
    values = publish(n, key, settings=settings)
    shown = (n == 0) | (n >= k)
    counts = pd.array(np.where(shown, values, 0), dtype="Int64")
    counts[~shown] = pd.NA
    labels = [format_number(int(v)) if s else f"< {k}" for v, s in zip(values, shown, strict=True)]
    return counts, labels


def _sums(
    codes: npt.NDArray[np.int64], key: npt.NDArray[np.int64], size: int
) -> npt.NDArray[np.int64]:
    """Sum of ``key`` per code ``0 … size - 1`` (exact: sums of keys stay far below 2⁵³)."""
    return np.bincount(codes, weights=key, minlength=size).round().astype(np.int64)


def _protected_rows(
    n: list[npt.NDArray[np.int64]], key: list[npt.NDArray[np.int64]], settings: Settings
) -> list[tuple[object, str]]:
    """Each row of parts protected with its total (records are people: people = n).

    :func:`territory.privacy.protect.protect_rows` gives every row exactly what
    :func:`~territory.privacy.protect.protect` gives it (threshold, secondary suppression,
    perturbation), all rows at once. Returns (count, label) per part, row after row.
    """
    if not n:
        return []
    counts = np.vstack(n).astype(np.int64)
    table, _ = protect_rows(counts, counts, np.vstack(key), counts.sum(axis=1), settings=settings)
    return list(zip(table["count"], table["label"], strict=True))


@lru_cache(maxsize=32)
def _funnel(
    state: tuple[str, int, int],
    territories: tuple[tuple[str, tuple[str, ...]], ...],
    first_text: str,
    last_text: str,
    k: int,
    rounding: int,
    with_trends: bool,
    typer: _Typer,
) -> FunnelTables:
    base = _base(*state)
    zone = _zone_of_place(*state, k, typer)
    first, last = _month(first_text), _month(last_text)
    ranks = _parcours_ranks(base.parcours, first, last).rename(columns={"rank": "rank_p"})
    steps, trends = [], []
    zone_n, zone_key, exit_n, exit_key = [], [], [], []
    lookup = np.zeros(len(base.communes) + 1, dtype=bool)  # the last slot: no commune (-1)
    for name, codes in territories:
        lookup[:] = False
        found = base.communes.get_indexer(list(codes))
        lookup[found[found >= 0]] = True
        inside = lookup[base.commune]
        people = _people(base, zone, inside, first, last, ranks)
        rank, key = people["rank"].to_numpy(), people["key"].to_numpy()
        where, klass = people["zone"].to_numpy(), people["klass"].to_numpy()
        n = np.array([(rank >= s).sum() for s in range(len(STEPS))], dtype=np.int64)
        keys = np.array([key[rank >= s].sum() for s in range(len(STEPS))], dtype=np.int64)
        counts, labels = _published(n, keys, k, rounding)
        steps += [(name, STEPS[s], counts[s], labels[s]) for s in range(len(STEPS))]
        out = rank == _SORTIE
        exit_n.append(np.bincount(klass[out], minlength=len(EXIT_CLASSES)))
        exit_key.append(_sums(klass[out], key[out], len(EXIT_CLASSES)))
        for s in range(len(STEPS)):  # zone codes 2, 1, 0: QPV, rural, autre
            sel = rank >= s
            zone_n.append(np.bincount(where[sel], minlength=3)[::-1])
            zone_key.append(_sums(where[sel], key[sel], 3)[::-1])
        if with_trends:
            trends += _trends(base, inside, first, last, name, k, rounding)
    settings = Settings(k=k, rounding=rounding)
    names = [name for name, _ in territories]
    exit_rows = _protected_rows(exit_n, exit_key, settings)
    exits = [
        (name, EXIT_CLASSES[c], *exit_rows[t * len(EXIT_CLASSES) + c])
        for t, name in enumerate(names)
        for c in range(len(EXIT_CLASSES))
    ]
    zone_rows = _protected_rows(zone_n, zone_key, settings)
    zones = [
        (name, ZONE_TYPES[z], STEPS[s], *zone_rows[(t * len(STEPS) + s) * 3 + z])
        for t, name in enumerate(names)
        for s in range(len(STEPS))
        for z in range(3)
    ]
    notes = []
    if base.unmatched:
        notes.append(
            "des parcours importés n'ont aucun contact enregistré de la même personne : "
            "ils ne sont rattachés à aucun territoire et ne sont pas comptés"
        )
    latest = _latest_month(*state, k)
    return FunnelTables(
        latest_month=latest,
        steps=pd.DataFrame(steps, columns=["territory", "step", "count", "label"]),
        exits=pd.DataFrame(exits, columns=["territory", "classe", "count", "label"]),
        zones=pd.DataFrame(zones, columns=["territory", "zone", "step", "count", "label"]),
        trends=pd.DataFrame(trends, columns=["territory", "month", "step", "count", "label"]),
        notes=tuple(notes),
    )


def _trends(
    base: _Base, inside: npt.NDArray[np.bool_], first: int, last: int, name: str, k: int,
    rounding: int,
) -> list[tuple[str, str, str, object, str]]:  # fmt: skip
    """People per month and step (months of at least k people met in the territory)."""
    upto = np.flatnonzero(inside & (base.month <= last))  # sorted by person
    member = base.person[upto]
    members = member[np.r_[True, member[1:] != member[:-1]]] if len(upto) else member
    during = upto[base.month[upto] >= first]
    p = base.parcours[np.isin(base.parcours["person"].to_numpy(), members)]
    entry, exit_ = p["entry"].to_numpy(), p["exit"].to_numpy()
    entered = (entry >= first) & (entry <= last)  # the months of an entry and of an exit
    left = (exit_ >= first) & (exit_ <= last)
    who = p["person"].to_numpy()
    person = np.concatenate([base.person[during], who[entered], who[left]])
    month = np.concatenate([base.month[during], entry[entered], exit_[left]])
    rank = np.concatenate([base.rank[during], np.full(int(entered.sum()), 2),
                           np.full(int(left.sum()), _SORTIE)])  # fmt: skip
    key = np.concatenate([base.key[during], p["key"].to_numpy()[entered],
                          p["key"].to_numpy()[left]])  # fmt: skip
    if not len(person):
        return []
    # one row per (month, person): runs of the rows sorted on both
    pair = (month - month.min()) * (int(person.max()) + 1) + person
    order = np.argsort(pair, kind="stable")
    pair = pair[order]
    starts = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
    rank = np.maximum.reduceat(rank[order], starts)
    key = np.add.reduceat(key[order], starts)
    months, inverse = np.unique(month[order][starts], return_inverse=True)
    met = np.bincount(inverse, minlength=len(months))  # people met each month
    n = np.vstack([np.bincount(inverse[rank >= s], minlength=len(months))
                   for s in range(len(STEPS))])  # fmt: skip
    keys = np.vstack([_sums(inverse[rank >= s], key[rank >= s], len(months))
                      for s in range(len(STEPS))])  # fmt: skip
    out: list[tuple[str, str, str, object, str]] = []
    for m in np.flatnonzero(met >= k):  # rule 5: only months that hold k people
        counts, labels = _published(n[:, m], keys[:, m], k, rounding)
        out += [(name, _month_text(int(months[m])), STEPS[s], counts[s], labels[s])
                for s in range(len(STEPS))]  # fmt: skip
    return out
