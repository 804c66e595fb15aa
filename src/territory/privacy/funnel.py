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
from territory.privacy import raw
from territory.privacy.parcours import parcours_frame
from territory.privacy.protect import LEVEL_COMMUNE, partition, protect, publish
from territory.settings import Settings
from territory.store import Workspace

__all__ = [
    "EXIT_CLASSES",
    "STATUS_STEP",
    "STEPS",
    "ZONE_TYPES",
    "FunnelTables",
    "ZoneTyper",
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
    """

    steps: pd.DataFrame
    exits: pd.DataFrame
    zones: pd.DataFrame
    trends: pd.DataFrame
    notes: tuple[str, ...]


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
    stat = ws.path.stat()
    state = (str(ws.path), stat.st_mtime_ns, ws.version)
    key = tuple((name, tuple(sorted(codes))) for name, codes in territories.items())
    return _funnel(
        state, key, first, last, settings.k, settings.rounding, trends, _Typer(zone_typer)
    )


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
    """The contacts and parcours of one state of the file, compact (raw)."""

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


def _month_text(m: int) -> str:
    return f"{1970 + m // 12:04d}-{m % 12 + 1:02d}"


@lru_cache(maxsize=2)
def _base(path: str, mtime_ns: int, version: int) -> _Base:
    ws = Workspace.open(Path(path))
    frame = raw.contact_frame(ws, columns=["date", "statut", "personne"])
    statut = pd.Categorical(frame["statut"].astype(object).fillna("").astype(str))
    lookup = np.array([STATUS_STEP.get(str(c), 0) for c in statut.categories] + [0])
    rank = lookup[np.asarray(statut.codes, dtype=np.int64)]
    months = (
        frame["date"].to_numpy().astype("datetime64[M]").astype(np.int64)
        if len(frame)
        else np.zeros(0, np.int64)
    )
    commune = pd.Categorical(frame["commune"]) if len(frame) else pd.Categorical([])
    pairs = pd.MultiIndex.from_arrays(
        [frame["cell"].astype(str).to_numpy(), frame["commune"].astype(str).to_numpy()]
    ) if len(frame) else pd.MultiIndex.from_arrays([[], []])  # fmt: skip
    place, uniques = pd.factorize(pairs)
    person = frame["person"].to_numpy(dtype=np.int64)
    stored = parcours_frame(ws)
    unmatched = False
    if len(stored) and len(frame):
        pseudonym = frame["personne"].astype("category")
        codes = np.asarray(pseudonym.cat.codes, dtype=np.int64)
        distinct, at = np.unique(codes, return_index=True)
        keep = distinct >= 0
        owner = pd.Series(person[at[keep]], index=pseudonym.cat.categories[distinct[keep]])
        owner = owner[owner.index != ""]
        who = owner.reindex(stored["personne"].to_numpy()).to_numpy()
        unmatched = bool(np.isnan(who).any())
        klass = stored["classe"].map({c: i for i, c in enumerate(EXIT_CLASSES)})
        found = ~np.isnan(who)
        parcours = pd.DataFrame(
            {
                "person": who[found].astype(np.int64),
                "entry": [_month(t) for t in stored["entree"][found]],
                "exit": [_month(t) if t else -1 for t in stored["sortie"][found]],
                "klass": klass[found].fillna(len(EXIT_CLASSES) - 1).astype(np.int64).to_numpy(),
                "key": stored["cle"][found].to_numpy(dtype=np.int64),
            }
        )
    else:
        unmatched = bool(len(stored))
        parcours = pd.DataFrame({c: pd.Series(dtype=np.int64)
                                 for c in ("person", "entry", "exit", "klass", "key")})  # fmt: skip
    return _Base(
        person=person,
        commune=np.asarray(commune.codes, dtype=np.int64),
        communes=pd.Index(commune.categories.astype(str)),
        place=np.asarray(place, dtype=np.int64),
        cells=np.asarray(uniques.get_level_values(0), dtype=object),
        place_communes=np.asarray(uniques.get_level_values(1), dtype=object),
        month=months,
        rank=np.asarray(rank, dtype=np.int64),
        key=frame["key"].to_numpy(dtype=np.int64),
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
    records = pd.DataFrame(
        {
            "cell": base.cells[base.place],
            "commune": base.place_communes[base.place],
            "person": base.person,
        }
    )
    zones = partition(records, k=k)  # rule 2: a cell merged into its commune is no QPV
    level = pd.MultiIndex.from_frame(zones[["cell", "commune"]].astype(str))
    merged = pd.Series(zones["level"].to_numpy() == LEVEL_COMMUNE, index=level)
    rolled = merged.reindex(pd.MultiIndex.from_arrays([base.cells, base.place_communes]))
    out[np.asarray(rural, dtype=bool)] = _ZONE_RURAL
    out[np.asarray(in_qpv, dtype=bool) & ~rolled.fillna(True).to_numpy(dtype=bool)] = _ZONE_QPV
    return out


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
    upto = inside & (base.month <= last)
    during = upto & (base.month >= first)
    frame = pd.DataFrame(
        {
            "person": base.person[upto],
            "rank": np.where(during[upto], base.rank[upto], -1),
            "key": np.where(during[upto], base.key[upto], 0),
            "zone": zone[base.place[upto]],
        }
    )
    grouped = frame.groupby("person", sort=True)
    people = pd.DataFrame(
        {"rank": grouped["rank"].max(), "key": grouped["key"].sum(), "zone": grouped["zone"].max()}
    )
    joined = people.join(ranks, how="left")
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


def _parts(
    people: pd.DataFrame, column: str, codes: list[int], k: int, rounding: int
) -> pd.DataFrame:
    """Protected parts (one per code of ``column``) of ``people``, with their total."""
    settings = Settings(k=k, rounding=rounding)
    values = people[column].to_numpy()
    n = np.array([(values == c).sum() for c in codes], dtype=np.int64)
    key = np.array([people["key"].to_numpy()[values == c].sum() for c in codes], dtype=np.int64)
    parts = pd.DataFrame({"n": n, "people": n, "key": key}, index=codes)
    return protect(parts, settings=settings, total_people=int(n.sum())).table


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
    steps, exits, zones, trends = [], [], [], []
    for name, codes in territories:
        inside = np.isin(base.commune, base.communes.get_indexer(list(codes)))
        people = _people(base, zone, inside, first, last, ranks)
        rank, key = people["rank"].to_numpy(), people["key"].to_numpy()
        n = np.array([(rank >= s).sum() for s in range(len(STEPS))], dtype=np.int64)
        keys = np.array([key[rank >= s].sum() for s in range(len(STEPS))], dtype=np.int64)
        counts, labels = _published(n, keys, k, rounding)
        steps += [(name, STEPS[s], counts[s], labels[s]) for s in range(len(STEPS))]
        exit_parts = _parts(people[rank == _SORTIE], "klass", list(range(len(EXIT_CLASSES))),
                            k, rounding)  # fmt: skip
        exits += [
            (name, EXIT_CLASSES[c], row.count, row.label)
            for c, row in zip(range(len(EXIT_CLASSES)), exit_parts.itertuples(), strict=True)
        ]
        for s in range(len(STEPS)):
            zone_parts = _parts(people[rank >= s], "zone", list(_ZONE_NAMES), k, rounding)
            zones += [
                (name, _ZONE_NAMES[z], STEPS[s], row.count, row.label)
                for z, row in zip(_ZONE_NAMES, zone_parts.itertuples(), strict=True)
            ]
        if with_trends:
            trends += _trends(base, inside, first, last, name, k, rounding)
    notes = []
    if base.unmatched:
        notes.append(
            "des parcours importés n'ont aucun contact enregistré de la même personne : "
            "ils ne sont rattachés à aucun territoire et ne sont pas comptés"
        )
    return FunnelTables(
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
    during = inside & (base.month >= first) & (base.month <= last)
    frame = pd.DataFrame(
        {"person": base.person[during], "month": base.month[during],
         "rank": base.rank[during], "key": base.key[during]}
    )  # fmt: skip
    members = np.unique(base.person[inside & (base.month <= last)])
    p = base.parcours[np.isin(base.parcours["person"].to_numpy(), members)]
    events = []
    for row in p.itertuples(index=False):  # the months of an entry and of an exit
        if first <= row.entry <= last:
            events.append((row.person, row.entry, 2, row.key))
        if first <= row.exit <= last:
            events.append((row.person, row.exit, _SORTIE, row.key))
    if events:
        extra = pd.DataFrame(events, columns=["person", "month", "rank", "key"])
        frame = pd.concat([frame, extra], ignore_index=True)
    if frame.empty:
        return []
    grouped = frame.groupby(["month", "person"], sort=True)
    per = grouped.agg(rank=("rank", "max"), key=("key", "sum"))
    out: list[tuple[str, str, str, object, str]] = []
    for month, rows in per.groupby(level="month", sort=True):
        met = frame[(frame["month"] == month)]["person"].nunique()
        if met < k:  # rule 5: only months that hold k people
            continue
        rank, key = rows["rank"].to_numpy(), rows["key"].to_numpy()
        n = np.array([(rank >= s).sum() for s in range(len(STEPS))], dtype=np.int64)
        keys = np.array([key[rank >= s].sum() for s in range(len(STEPS))], dtype=np.int64)
        counts, labels = _published(n, keys, k, rounding)
        out += [(name, _month_text(int(month)), STEPS[s], counts[s], labels[s])
                for s in range(len(STEPS))]  # fmt: skip
    return out
