"""When to go: protected weekday × 2-hour contact profiles, partner hours, transit by hour.

A **profile** counts the contacts of the last :data:`PROFILE_MONTHS` whole months per
weekday and 2-hour slot of an outreach day (:data:`DEFAULT_HOURS`). Each level a zone
belongs to — the zone; its commune (for a QPV or a cell: the commune under its centre);
its EPCI (the ``epci`` column of the communes, within the territory); the territory —
has its own profile, each through the one disclosure step
(:func:`territory.privacy.published.slot_profiles`: threshold k on people, secondary
suppression, cell-key perturbation, rounding), the slots as parts plus one part for the
contacts outside those hours. The published number of people of each level goes
through the same step.

**Shrinkage** (empirical-Bayes style, on published values only). The share of a slot at
a level is its published count over the level's published total (every hour). From the
territory down, a level's shares are blended with its parent's blended shares::

    share = w · own share + (1 − w) · parent's share,   w = N / (N + N0)

with N the level's **published** number of distinct people (people, not contacts: one
person met fifty times is one observation of when people are out) and N0 =
:data:`PRIOR_PEOPLE` = 50. A suppressed slot takes its parent's share; a level that
cannot be published (fewer than k people) has w = 0 and passes its parent's profile on.
The presence levels come from the blended shares, relative to the zone's busiest slot
(forte from half its share, moyenne from a quarter, faible below): display labels only.
Why it is safe: the blend is a function of published values (and of the public N0) only,
so it discloses nothing the published values do not; the only counts shown are the
published counts of the level they belong to (``Profile.scope``), and the page says
which levels the profile rests on, with their published number of people and weights
(functions of those numbers). This replaces the rule of privacy v1, under which a zone
got its own profile only when every slot of the zone and of the rest reached k (so that
every zone got the territory's answer): since privacy v2 the zone's and the territory's
profiles differ by noise (rule 4).

Slots are then combined with the opening hours of the partners near the zone (a
partner counts as open in a slot only when it is open for the **whole** slot on the
actual date of the chosen week, public holidays included) and with the departures at
the best-served stop within ``Settings.stop_buffer_m`` (GTFS reference week), into
recommended slots with a French sentence, e.g. "mardi 16-18 h : forte présence observée
sur le territoire, mission locale ouverte, un départ toutes les 20 min (arrêt Gare)".
**Ranking** (:func:`recommend_slots`) follows the zone's blended profile: a slot's score
is its share relative to the zone's busiest slot (0-100), plus 5 per open partner type
(at most 10) and half its departures per hour (at most 3); public holidays last. The
``pourquoi`` column says it in French (the slot's rank by presence, partners, transit).

Examples
--------
>>> from datetime import datetime
>>> slot_label(1, 16)
'mardi 16-18 h'
>>> open_during("Mo-Fr 08:30-12:30", datetime(2026, 11, 3, 8), datetime(2026, 11, 3, 10))
False
>>> open_during("Mo-Fr 08:30-12:30", datetime(2026, 11, 3, 10), datetime(2026, 11, 3, 12))
True
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from territory._errors import ValidationError, WorkspaceError
from territory._fr import format_distance, format_number
from territory.analysis.indicators import PARTNER_PHRASES
from territory.analysis.priority import load_stop_hours
from territory.analysis.slot_context import (
    DEFAULT_HOURS,
    SLOT_HOURS,
    partner_slots,
    partner_text,
    slot_index,
    slot_label,
    transit_slots,
    transit_text,
)
from territory.analysis.transit_coverage import STATE_PHRASES, zone_transit_states
from territory.analysis.zones import ZoneKind, cells_in_zones, load_zones, zone_centres
from territory.calendar import departement_of, week_calendar
from territory.crs import GRID_CRS, METRIC_CRS
from territory.grid import cell_ids
from territory.hours import open_during
from territory.privacy import published
from territory.privacy.protect import BELOW_K
from territory.privacy.published import SlotCounts
from territory.settings import Settings
from territory.store import Workspace
from territory.territories import is_whole, resolve
from territory.vocab import (
    PARTNER_TYPES,
    TRANSIT_NO_DATA,
    TRANSIT_TIMED,
    WEEKDAYS_FR,
)

__all__ = [
    "DEFAULT_HOURS",
    "PRIOR_PEOPLE",
    "PROFILE_MONTHS",
    "SLOT_HOURS",
    "Profile",
    "ProfileLevel",
    "WhenResult",
    "contact_profile",
    "contact_profiles",
    "open_during",
    "partner_slots",
    "recommend_slots",
    "shrink",
    "slot_label",
    "transit_slots",
    "when",
]

PROFILE_MONTHS = 12
"""Whole calendar months of contacts in a profile, ending with the latest contact's."""
PRIOR_PEOPLE = 50
"""Prior strength of the shrinkage, in people: a level of 50 published people weighs as
much as its parent's profile (weight 0.5); 200 people, 0.8."""
PARTNER_RADIUS_M = 5_000.0
"""Partners within this distance of the zone's centre are considered (and the nearest of
each type in any case)."""
PRESENCE = {
    "forte": "forte présence observée",
    "moyenne": "présence moyenne observée",
    "faible": "faible présence observée",
    "aucune": "aucun contact observé",
    "inconnue": "présence inconnue (secret statistique)",
}
_STRONG, _MEDIUM = 0.5, 0.25  # presence levels: from these fractions of the top share
_PARTNER_POINTS, _PARTNER_TYPES_COUNTED = 5.0, 2  # score: per open partner type, at most
_DEPARTS_POINTS, _DEPARTS_COUNTED = 0.5, 6.0  # score: per departure an hour, at most
_GRID_ID = re.compile(r"^CRS3035RES\d+mN\d+E\d+$")


# ---------------------------------------------------------------------------- profile


@dataclass(frozen=True)
class ProfileLevel:
    """One level a zone's profile may rest on (the zone, its commune, EPCI, territory).

    Attributes
    ----------
    level
        ``"zone"``, ``"commune"``, ``"epci"`` or ``"territoire"``.
    people
        Published distinct people of the level (None: fewer than k; 0: nobody).
    weight
        Weight of the level's own slot shares against its parent's,
        ``people / (people + PRIOR_PEOPLE)`` (1 for the territory, 0 when not published).
    share
        Effective weight of the level in the zone's recommended profile (they add up to 1).
    communes
        The level's communes (empty for the zone of a QPV or a cell, and the territory).
    """

    level: str
    people: int | None
    weight: float
    share: float
    communes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Profile:
    """A protected weekday × slot profile of contacts, shrunk towards the zone's parents.

    Attributes
    ----------
    table
        One row per slot: ``jour`` (0 = Monday), ``debut``, ``fin``, ``creneau`` (French
        label), ``contacts`` (``Int64``, NA when suppressed), ``libelle`` and ``statut``
        — the published values of the level ``scope`` only —, ``part`` (the blended
        share of the slot, from published values, see :func:`shrink`; NaN when unknown)
        and ``presence`` (``forte``, ``moyenne``, ``faible``, ``aucune``, ``inconnue``,
        from ``part``).
    scope
        The first level whose own profile is published, whose counts fill the table:
        ``"zone"``, ``"commune"``, ``"epci"`` or ``"territoire"``.
    period
        First and last day of the contacts counted.
    notes
        French notes (the levels the profile rests on, no contacts…).
    levels
        The zone's levels, from the zone up to the territory.
    basis
        French sentence: which level the profile rests on and how many people.
    """

    table: pd.DataFrame
    scope: str
    period: tuple[date, date] | None
    notes: tuple[str, ...] = ()
    levels: tuple[ProfileLevel, ...] = ()
    basis: str = ""

    @property
    def main_level(self) -> str:
        """The level with the largest effective weight (named in the slots' sentences)."""
        if not self.levels:
            return self.scope
        return max(self.levels, key=lambda lv: lv.share).level


def shrink(
    own: npt.ArrayLike, parent: npt.ArrayLike, people: int | None, *, prior: float = PRIOR_PEOPLE
) -> tuple[npt.NDArray[np.float64], float]:
    """Blend a level's slot shares with its parent's: ``w·own + (1 − w)·parent``.

    ``w = people / (people + prior)``; 0 when ``people`` is None or 0. A slot whose own
    share is unknown (NaN: suppressed) takes the parent's; one whose parent's share is
    unknown keeps its own.

    Returns
    -------
    tuple
        The blended shares and ``w``.

    Examples
    --------
    >>> shares, w = shrink([0.5, np.nan, 0.0], [0.2, 0.3, np.nan], 50)
    >>> shares.round(2).tolist(), w
    ([0.35, 0.3, 0.0], 0.5)
    """
    mine = np.asarray(own, dtype=float)
    theirs = np.asarray(parent, dtype=float)
    w = people / (people + prior) if people else 0.0
    blended = w * mine + (1 - w) * theirs
    blended = np.where(np.isnan(mine), theirs, blended)
    return np.where(np.isnan(theirs), mine, blended), w


def _shares(counts: SlotCounts) -> npt.NDArray[np.float64]:
    """The published counts of the slots over the published total (NaN when suppressed)."""
    values: npt.NDArray[np.float64] = counts.table["count"].to_numpy(dtype=float, na_value=np.nan)
    if not counts.total:
        return np.full(len(values), np.nan)
    return values / float(counts.total)


def _presence(shares: npt.NDArray[np.float64], root_status: pd.Series) -> npt.NDArray[np.object_]:
    """Presence levels from blended shares, relative to the busiest slot's share.

    ``forte`` from half the highest share, ``moyenne`` from a quarter, ``faible`` below
    (some presence), ``aucune`` at 0. A slot of unknown share is ``faible`` when the
    territory's was under the threshold, ``inconnue`` otherwise (secondary suppression).

    Examples
    --------
    >>> _presence(np.array([0.4, 0.3, 0.1, 0.0]), pd.Series(["ok"] * 4)).tolist()
    ['forte', 'forte', 'moyenne', 'aucune']
    """
    level = np.where(root_status.to_numpy() == BELOW_K, "faible", "inconnue").astype(object)
    known = ~np.isnan(shares)
    level[known & (shares <= 0)] = "aucune"
    shown = known & (shares > 0)
    if shown.any():
        top = shares[shown].max()
        level[shown] = np.where(
            shares[shown] >= _STRONG * top,
            "forte",
            np.where(shares[shown] >= _MEDIUM * top, "moyenne", "faible"),
        )
    return level


def _slot_frame(hours: tuple[int, int]) -> pd.DataFrame:
    """One row per weekday × 2-hour slot: ``jour``, ``debut``, ``fin``, ``creneau``."""
    return _slot_frame_cached(hours).copy()


@lru_cache(maxsize=8)
def _slot_frame_cached(hours: tuple[int, int]) -> pd.DataFrame:
    index = slot_index(hours)
    table = pd.DataFrame(
        {"jour": index.get_level_values("jour"), "debut": index.get_level_values("debut")}
    )
    table["fin"] = table["debut"] + SLOT_HOURS
    table["creneau"] = [
        slot_label(d, s) for d, s in zip(table["jour"], table["debut"], strict=True)
    ]
    return table


def _profile_period(ws: Workspace, months: int, settings: Settings) -> tuple[date, date] | None:
    """The ``months`` whole months ending with the latest published month."""
    month = published.latest_month(ws, settings=settings)
    if month is None:
        return None
    last = pd.Period(month, freq="M")
    return (last - (months - 1)).start_time.date(), last.end_time.date()


def _zone_candidate_cells(zone: gpd.GeoDataFrame, kind: ZoneKind) -> list[str]:
    """The 200 m cells attributed to the zone (same rule as the indicators).

    Kept per geometry: the planner asks the cells of every QPV of its places at each plan.
    """
    shapes = tuple(shapely.to_wkb(np.asarray(zone.geometry.to_numpy(), dtype=object)))
    # a 1 km cell's code is what its cells are read by
    key = (tuple(zone["code"].astype(str)), shapes, getattr(zone.crs, "srs", None), kind)
    if key not in _CELLS:
        _CELLS[key] = _cells_of(zone, kind)
        while len(_CELLS) > 4096:
            del _CELLS[next(iter(_CELLS))]
    return list(_CELLS[key])


_CELLS: dict[tuple[Any, ...], tuple[str, ...]] = {}


def _cells_of(zone: gpd.GeoDataFrame, kind: ZoneKind) -> tuple[str, ...]:
    """:func:`_zone_candidate_cells`, computed."""
    grid = zone.to_crs(GRID_CRS)
    xmin, ymin, xmax, ymax = grid.total_bounds
    xs = np.arange(math.floor(xmin / 200) * 200, xmax, 200)
    ys = np.arange(math.floor(ymin / 200) * 200, ymax, 200)
    ex, ny = (a.ravel() for a in np.meshgrid(xs, ys))
    candidates = cell_ids(ex + 1, ny + 1, resolution=200).astype(object)
    owner = cells_in_zones(candidates, zone, kind=kind)
    return tuple(str(c) for c, o in zip(candidates, owner, strict=True) if o is not None)


@dataclass(frozen=True)
class _Communes:
    """The workspace's communes as the parent levels need them, read once for many zones."""

    codes: pd.Series  # str
    epci_of: dict[str, str]  # commune → EPCI code (communes without one left out)
    members: dict[str, frozenset[str]]  # EPCI code → its communes
    geoms: npt.NDArray[np.object_] | None  # Lambert-93, None when not read (commune zones)


def _read_communes(ws: Workspace, *, geometries: bool) -> _Communes | None:
    """The ``communes`` layer's codes, EPCI and (for QPV and cells) metric geometries."""
    if not ws.has("communes"):
        return None
    if geometries:
        layer = ws.read_layer("communes")
        geoms = np.asarray(layer.to_crs(METRIC_CRS).geometry.to_numpy(), dtype=object)
    else:  # codes only: the geometries are not needed
        names = ws.read_table("communes", columns=None, where="0").columns
        layer = ws.read_table("communes", columns=[c for c in ("code", "epci") if c in names])
        geoms = None
    codes = layer["code"].astype(str).reset_index(drop=True)
    epci_of: dict[str, str] = {}
    if "epci" in layer:
        for code, epci in zip(codes, layer["epci"], strict=True):
            if pd.notna(epci) and str(epci):
                epci_of[code] = str(epci)
    members: dict[str, set[str]] = {}
    for code, epci in epci_of.items():
        members.setdefault(epci, set()).add(code)
    return _Communes(codes, epci_of, {e: frozenset(m) for e, m in members.items()}, geoms)


def _parent_sets(
    zone: gpd.GeoDataFrame, kind: ZoneKind, communes: set[str] | None, layer: _Communes | None
) -> list[tuple[str, published.SlotSet]]:
    """The zone's own set and its parents below the territory: commune (QPV, cell), EPCI.

    A QPV's or a cell's commune is the one under the zone's centre; the EPCI is every
    commune of the workspace with the same ``epci`` code, within the territory. A parent
    that holds the same communes as the next level up is left out.
    """
    sets: list[tuple[str, published.SlotSet]] = []
    commune: str | None = None
    if kind == "commune":
        commune = str(zone["code"].iloc[0])
        sets.append(("zone", ({commune}, None)))
    else:
        sets.append(("zone", (None, _zone_candidate_cells(zone, kind))))
        if layer is not None and layer.geoms is not None and len(layer.codes):
            centre = zone_centres(zone).iloc[0]
            under = np.flatnonzero(shapely.covers(layer.geoms, centre))
            if len(under):
                commune = str(layer.codes.iloc[int(under[0])])
                sets.append(("commune", ({commune}, None)))
    if commune is not None and layer is not None and commune in layer.epci_of:
        members = set(layer.members[layer.epci_of[commune]])
        if communes is not None:
            members &= communes
        if len(members) > 1 and len(members) < len(communes or layer.codes):
            sets.append(("epci", (members, None)))
    return sets


_LEVEL_OF = {
    "zone": "de la zone",
    "commune": "de la commune",
    "epci": "de l'EPCI",
    "territoire": "du territoire",
}
_IN = {
    "zone": "dans la zone",
    "commune": "dans la commune",
    "epci": "dans l'EPCI",
    "territoire": "sur le territoire",
}
_THAT_OF = {
    "commune": "celui de la commune",
    "epci": "celui de l'EPCI",
    "territoire": "celui du territoire",
}


def _people_text(n: int | None) -> str:
    return f"{format_number(n or 0)} personne{'s' if (n or 0) > 1 else ''}"


def _basis(levels: list[ProfileLevel], k: int, *, fine: bool = False) -> str:
    """« profil propre de la zone (120 personnes), rapproché de celui de l'EPCI (poids 0,29) »."""
    words = []
    for i, lv in enumerate(levels):
        if lv.weight > 0:
            own = (
                "profil propre de la zone"
                if lv.level == "zone"
                else f"profil {_LEVEL_OF[lv.level]}"
            )
            text = f"{own} ({_people_text(lv.people)})"
            if i + 1 < len(levels) and round(1 - lv.weight, 2) > 0:
                weight = format_number(1 - lv.weight, decimals=2)
                text += f", rapproché de {_THAT_OF[levels[i + 1].level]} (poids {weight})"
            words.append(text)
            break
        if lv.people == 0 and fine and lv.level == "zone":
            # a QPV or a cell counts only the protected partition's zones inside it
            words.append("aucun contact compté à l'échelle de la zone")
        elif lv.people == 0:
            words.append(f"aucun contact {_IN[lv.level]}")
        else:
            words.append(f"profil {_LEVEL_OF[lv.level]} non publiable (moins de {k} personnes)")
    return " ; ".join(words)


def contact_profile(
    ws: Workspace,
    *,
    settings: Settings,
    zone: gpd.GeoDataFrame | None = None,
    kind: ZoneKind = "commune",
    communes: set[str] | None = None,
    months: int = PROFILE_MONTHS,
    hours: tuple[int, int] = DEFAULT_HOURS,
) -> Profile:
    """The protected weekday × 2-hour profile of a zone, shrunk towards its parents.

    Parameters
    ----------
    ws
        The workspace.
    settings
        Gives ``k`` and ``rounding``.
    zone
        One zone (a row of :func:`territory.analysis.priority.load_zones`, with ``code``); None
        for the territory's profile.
    kind
        How contacts are attributed to the zone (``commune``, ``qpv``, ``cell``).
    communes
        The territory's communes (None: the whole workspace).
    months
        Whole months counted, ending with the month of the latest contact.
    hours
        Even hours of the outreach day, ``(start, end)``.

    Returns
    -------
    Profile
        Published values, and shares computed from them only; ``scope`` says whose
        counts the table shows, ``basis`` which levels the presence rests on.
    """
    zones = [None] if zone is None else [(zone, kind)]
    return contact_profiles(
        ws, zones, settings=settings, communes=communes, months=months, hours=hours
    )[0]


def contact_profiles(
    ws: Workspace,
    zones: Sequence[tuple[gpd.GeoDataFrame, ZoneKind] | None],
    *,
    settings: Settings,
    communes: set[str] | None = None,
    months: int = PROFILE_MONTHS,
    hours: tuple[int, int] = DEFAULT_HOURS,
    shares_only: bool = False,
) -> list[Profile]:
    """:func:`contact_profile` of many zones at once (the planner's places' zones).

    ``zones``: ``(zone, kind)`` pairs, None for the territory. The communes are read
    once, each distinct level (a commune, an EPCI, the territory) is protected once and
    shared by every zone under it: the same published values as one zone at a time.
    ``shares_only``: each profile's table holds ``jour``, ``debut`` and ``part`` only
    (the blended shares, the same numbers), without counts, labels nor presence.
    """
    period = _profile_period(ws, months, settings)
    if period is None:
        empty = _slot_frame(hours)
        empty["contacts"] = pd.array([pd.NA] * len(empty), dtype="Int64")
        empty["libelle"] = "aucun contact importé"
        empty["statut"] = "absent"
        empty["part"] = np.nan
        empty["presence"] = "inconnue"
        none = Profile(
            empty, "territoire", None, ("aucun contact importé : pas de profil horaire",)
        )
        return [none for _ in zones]
    fine = any(z is not None and z[1] != "commune" for z in zones)
    needed = any(z is not None for z in zones)
    layer = _read_communes(ws, geometries=fine) if needed else None
    named_per_zone = []
    for item in zones:
        named = [] if item is None else _parent_sets(item[0], item[1], communes, layer)
        named.append(("territoire", (None, None)))
        named_per_zone.append(named)
    keys: dict[tuple[frozenset[str] | None, frozenset[str] | None], int] = {}
    for named in named_per_zone:
        for _, level in named:
            keys.setdefault(_set_key(level), len(keys))
    counts = published.slot_profiles(
        ws,
        period=period,
        slots=slot_index(hours),
        slot_hours=SLOT_HOURS,
        settings=settings,
        sets=list(keys),
        communes=communes,
    )
    out = []
    memo: dict[int, npt.NDArray[np.float64]] = {}  # the levels' shares, alive with ``counts``
    for item, named in zip(zones, named_per_zone, strict=True):
        mine = [counts[keys[_set_key(level)]] for _, level in named]
        kind = "commune" if item is None else item[1]
        if shares_only:
            shares, weights = _blend(mine, memo)
            table = pd.DataFrame({**_slot_keys(hours), "part": shares})
            out.append(Profile(table, "", period, (), _levels(named, mine, weights)))
        else:
            out.append(_blended(named, mine, period, hours, settings, kind, item is not None))
    return out


@lru_cache(maxsize=8)
def _slot_keys_cached(hours: tuple[int, int]) -> tuple[npt.NDArray[np.int64], ...]:
    index = slot_index(hours)
    days = index.get_level_values("jour").to_numpy(dtype=np.int64)
    return days, index.get_level_values("debut").to_numpy(dtype=np.int64)


def _slot_keys(hours: tuple[int, int]) -> dict[str, npt.NDArray[np.int64]]:
    days, starts = _slot_keys_cached(hours)
    return {"jour": days, "debut": starts}


def _blend(
    counts: list[SlotCounts], memo: dict[int, npt.NDArray[np.float64]] | None = None
) -> tuple[npt.NDArray[np.float64], list[float]]:
    """The blended shares (:func:`shrink`, from the territory down) and each level's w.

    ``memo``: each level's shares by ``id``, for the many zones sharing their parents.
    """

    def shares_of(level: SlotCounts) -> npt.NDArray[np.float64]:
        if memo is None:
            return _shares(level)
        if id(level) not in memo:
            memo[id(level)] = _shares(level)
        return memo[id(level)]

    shares = shares_of(counts[-1]).copy()
    weights = [1.0 if counts[-1].people else 0.0]
    for level in reversed(counts[:-1]):
        shares, w = shrink(shares_of(level), shares, level.people)
        weights.insert(0, w)
    return shares, weights


def _levels(
    named: list[tuple[str, published.SlotSet]], counts: list[SlotCounts], weights: list[float]
) -> tuple[ProfileLevel, ...]:
    levels, rest = [], 1.0
    for (name, (codes, _)), level, w in zip(named, counts, weights, strict=True):
        levels.append(ProfileLevel(name, level.people, w, rest * w, tuple(sorted(codes or ()))))
        rest *= 1 - w
    return tuple(levels)


def _set_key(level: published.SlotSet) -> tuple[frozenset[str] | None, frozenset[str] | None]:
    codes, cells = level
    return (
        None if codes is None else frozenset(codes),
        None if cells is None else frozenset(cells),
    )


def _blended(
    named: list[tuple[str, published.SlotSet]],
    counts: list[SlotCounts],
    period: tuple[date, date],
    hours: tuple[int, int],
    settings: Settings,
    kind: ZoneKind,
    has_zone: bool,
) -> Profile:
    """A zone's profile from its levels' published counts (:func:`shrink`, territory down)."""
    notes = [f"profil horaire : contacts du {period[0]:%d/%m/%Y} au {period[1]:%d/%m/%Y}"]
    shares, weights = _blend(counts)
    levels = list(_levels(named, counts, weights))
    scope = next((i for i, w in enumerate(weights) if w > 0), len(named) - 1)
    table = _slot_frame(hours)
    shown = counts[scope].table
    table["contacts"] = shown["count"].to_numpy()
    table["libelle"] = shown["label"].to_numpy()
    table["statut"] = shown["status"].to_numpy()
    table["part"] = shares
    table["presence"] = _presence(shares, counts[-1].table["status"])
    basis = _basis(levels, settings.k, fine=kind != "commune") if has_zone else ""
    return Profile(table, named[scope][0], period, tuple(notes), tuple(levels), basis)


# ---------------------------------------------------------------------------- partners


def _relative_presence(shares: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Shares relative to the highest (0-100); unknown ones as the weakest known positive.

    Examples
    --------
    >>> _relative_presence(np.array([0.4, 0.1, np.nan, 0.0])).tolist()
    [100.0, 25.0, 25.0, 0.0]
    """
    known = ~np.isnan(shares)
    positive = known & (shares > 0)
    if not positive.any():
        return np.zeros(len(shares))
    relative: npt.NDArray[np.float64] = np.where(known, shares, 0.0) / shares[positive].max()
    return np.where(known, relative, relative[positive].min()) * 100


def _why(row: Any, known: int, main: str, has_transit: bool, radius_m: float) -> str:
    """« présence forte : 1er des 49 créneaux ; partenaire ouvert : France services »."""
    if pd.isna(row.rang_presence):
        words = [PRESENCE[row.presence]]
    elif row.presence == "aucune":
        words = [f"aucun contact observé {_IN[main]}"]
    else:
        rank = int(row.rang_presence)
        nth = "1er" if rank == 1 else f"{rank}e"
        mostly = "" if main == "zone" else f" (profil surtout {_LEVEL_OF[main]})"
        words = [f"présence {row.presence} : {nth} des {known} créneaux{mostly}"]
    if row.types_ouverts:
        labels = [PARTNER_TYPES.get(t, t) for t in row.types_ouverts]
        plural = "s" if len(labels) > 1 else ""
        words.append(f"partenaire{plural} ouvert{plural} : {', '.join(labels)}")
    if has_transit and row.departs_par_heure > 0:
        words.append(f"desserte : {transit_text(row.departs_par_heure, '', radius_m)}")
    return " ; ".join(words)


def recommend_slots(
    profile: Profile,
    *,
    partners: pd.DataFrame | None = None,
    partner_open: pd.DataFrame | None = None,
    transit: pd.DataFrame | None = None,
    open_type: str | None = None,
    top: int | None = 5,
    stop_radius_m: float = 500.0,
    holidays: Mapping[int, str] | None = None,
    transit_state: str = "",
) -> pd.DataFrame:
    """Slots ranked by the zone's own (blended) presence, then partners and transit.

    Parameters
    ----------
    profile
        :func:`contact_profile` (protected).
    partners
        The partners considered (``nom``, ``type``), same index as ``partner_open``.
    partner_open
        :func:`partner_slots` of ``partners``.
    transit
        :func:`transit_slots` (None: transit unknown).
    open_type
        Keep only slots where a partner of this type is open for the whole slot.
    top
        Keep the best ``top`` slots (None: all).
    stop_radius_m
        The walking distance to a stop that ``transit`` was counted within
        (``settings.stop_buffer_m``), named in the sentences.
    holidays
        Public holidays of the week, weekday → name: their slots are flagged
        (``ferie``, « jour férié (…) » in the sentence) and ranked after every other.
    transit_state
        Why ``transit`` is None (:data:`territory.vocab.TRANSIT_NO_DATA`…), said in the
        sentences.

    Returns
    -------
    pandas.DataFrame
        Best first: the profile's columns, ``types_ouverts`` (partner type codes) and
        ``partenaires_ouverts`` (lists), ``departs_par_heure``, ``arret``, ``score``,
        ``rang_presence`` (the slot's rank by share among the profile's slots),
        ``phrase`` and ``pourquoi`` (French: what the rank rests on). Score: the slot's
        share relative to the busiest slot's (0-100; unknown: as the weakest known), plus
        5 per open partner type (at most 10) and 0.5 per departure an hour (at most 3);
        ties by weekday and hour; public holidays last.
    """
    table = profile.table.copy()
    keys = list(zip(table["jour"], table["debut"], strict=True))
    types_open: list[list[str]] = [[] for _ in keys]
    names_open: list[list[str]] = [[] for _ in keys]
    if partners is not None and partner_open is not None and len(partners):
        kinds = partners["type"].astype(str).to_numpy()
        names = partners["nom"].astype(str).to_numpy()
        matrix = partner_open.reindex(columns=pd.MultiIndex.from_tuples(keys)).to_numpy(bool)
        for j in range(len(keys)):
            rows = np.flatnonzero(matrix[:, j])
            types_open[j] = list(dict.fromkeys(kinds[rows]))
            names_open[j] = [str(n) for n in names[rows]]
    table["types_ouverts"] = types_open
    table["partenaires_ouverts"] = names_open
    if transit is not None:
        t = transit.reindex(pd.MultiIndex.from_tuples(keys))
        table["departs_par_heure"] = t["departs_par_heure"].to_numpy(float)
        table["arret"] = t["arret"].fillna("").to_numpy(object)
    else:
        table["departs_par_heure"] = np.nan
        table["arret"] = ""
    departs = np.nan_to_num(table["departs_par_heure"].to_numpy(float), nan=0.0)
    opened = np.minimum(table["types_ouverts"].map(len).to_numpy(), _PARTNER_TYPES_COUNTED)
    table["score"] = (
        _relative_presence(table["part"].to_numpy(float))
        + opened * _PARTNER_POINTS
        + np.minimum(departs, _DEPARTS_COUNTED) * _DEPARTS_POINTS
    )
    part = table["part"].astype(float)
    table["rang_presence"] = part.rank(ascending=False, method="min").astype("Int64")
    main = profile.main_level
    where = "" if main == "zone" else f" {_IN[main]}"
    table["phrase"] = [
        ", ".join(
            [
                f"{row.creneau} : {PRESENCE[row.presence]}"
                + (where if row.presence != "inconnue" else ""),
                partner_text(row.types_ouverts),
                transit_text(
                    None if transit is None else row.departs_par_heure,
                    row.arret,
                    stop_radius_m,
                    transit_state,
                ),
            ]
        )
        for row in table.itertuples(index=False)
    ]
    known = int(part.notna().sum())
    table["pourquoi"] = [
        _why(row, known, main, transit is not None, stop_radius_m)
        for row in table.itertuples(index=False)
    ]
    off = holidays or {}
    table["ferie"] = table["jour"].map(lambda d: off.get(int(d), "")).astype(object)
    flagged = table["ferie"] != ""
    table.loc[flagged, "phrase"] = [
        f"{p}, jour férié ({n})"
        for p, n in zip(table.loc[flagged, "phrase"], table.loc[flagged, "ferie"], strict=True)
    ]
    table.loc[flagged, "pourquoi"] = [
        f"jour férié ({n}) : classé après les autres ; {p}"
        for p, n in zip(table.loc[flagged, "pourquoi"], table.loc[flagged, "ferie"], strict=True)
    ]
    if open_type is not None:
        table = table[table["types_ouverts"].map(lambda ts: open_type in ts)]
    table = table.assign(_ferie=table["ferie"] != "").sort_values(
        ["_ferie", "score", "jour", "debut"], ascending=[True, False, True, True], kind="stable"
    )
    table = table.drop(columns="_ferie")
    table = table.reset_index(drop=True)
    return table.head(top) if top is not None else table


# ---------------------------------------------------------------------------- workspace


@dataclass(frozen=True)
class WhenResult:
    """Recommended slots of one zone (what ``territory when --json`` prints).

    Attributes
    ----------
    code, name, kind
        The zone.
    week_start
        Monday of the week whose dates (public and school holidays) the partner hours
        and the notes use.
    profile
        The protected profile used (zone or territory).
    slots
        :func:`recommend_slots` output (best first).
    partners
        Partners considered: ``nom``, ``type``, ``type_libelle``, ``horaires``,
        ``distance_m``.
    notes
        French notes.
    """

    code: str
    name: str
    kind: ZoneKind
    week_start: date
    profile: Profile
    slots: pd.DataFrame
    partners: pd.DataFrame
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        slots = [
            {
                "jour": WEEKDAYS_FR[int(r.jour)],
                "debut": int(r.debut),
                "fin": int(r.fin),
                "creneau": r.creneau,
                "contacts": r.libelle,
                "presence": r.presence,
                "partenaires_ouverts": list(r.partenaires_ouverts),
                "types_ouverts": [PARTNER_TYPES.get(t, t) for t in r.types_ouverts],
                "types_ouverts_code": list(r.types_ouverts),
                "departs_par_heure": None
                if pd.isna(r.departs_par_heure)
                else round(float(r.departs_par_heure), 1),
                "arret": r.arret or None,
                "phrase": r.phrase,
                "pourquoi": r.pourquoi,
            }
            for r in self.slots.itertuples(index=False)
        ]
        profile = [
            {
                "jour": WEEKDAYS_FR[int(r.jour)],
                "debut": int(r.debut),
                "fin": int(r.fin),
                "contacts": None if pd.isna(r.contacts) else int(r.contacts),
                "libelle": r.libelle,
                "presence": r.presence,
            }
            for r in self.profile.table.itertuples(index=False)
        ]
        partners = [
            {
                "nom": str(r.nom),
                "type": PARTNER_TYPES.get(str(r.type), str(r.type)),
                "type_code": str(r.type),
                "horaires": str(r.horaires),
                "distance_m": round(float(r.distance_m)),
            }
            for r in self.partners.itertuples(index=False)
        ]
        return {
            "code": self.code,
            "name": self.name,
            "kind": self.kind,
            "week_start": self.week_start.isoformat(),
            "profile_scope": self.profile.scope,
            "profile_basis": self.profile.basis,
            "profile_levels": [
                {"level": lv.level, "people": lv.people, "weight": round(lv.weight, 2)}
                for lv in self.profile.levels
            ],
            "slots": slots,
            "profile": profile,
            "partners": partners,
            "notes": list(self.notes),
        }


def _find_zone(
    ws: Workspace, code: str, kind: ZoneKind | None, territory: str | None
) -> tuple[gpd.GeoDataFrame, ZoneKind]:
    if kind is None:
        if _GRID_ID.match(code):
            kind = "cell"
        elif ws.has("qpv") and code in set(ws.read_table("qpv", columns=["code"])["code"]):
            kind = "qpv"
        else:
            kind = "commune"
    zones = load_zones(ws, kind, territory=territory)
    match = zones[zones["code"].astype(str) == code]
    if match.empty:
        raise ValidationError(
            f"zone « {code} » introuvable parmi les {len(zones)} zones de type {kind} "
            "(code INSEE de commune, code QPV ou identifiant de carreau 1 km attendu)"
        )
    return match.reset_index(drop=True), kind


def _near_partners(ws: Workspace, zone: gpd.GeoDataFrame, radius_m: float) -> pd.DataFrame:
    columns = ["nom", "type", "type_libelle", "horaires", "distance_m"]
    if not ws.has("partners"):
        return pd.DataFrame(columns=columns)
    partners = ws.read_layer("partners")
    partners = partners[~(partners.geometry.isna() | partners.geometry.is_empty)]
    if partners.empty:
        return pd.DataFrame(columns=columns)
    centre = zone_centres(zone).iloc[0]
    dist = shapely.distance(
        np.asarray(partners.to_crs(METRIC_CRS).geometry.to_numpy(), dtype=object), centre
    )
    partners = partners.assign(distance_m=dist).sort_values(["distance_m", "nom"], kind="stable")
    nearest_of_type = ~partners["type"].duplicated()
    keep = (partners["distance_m"] <= radius_m) | nearest_of_type
    out = pd.DataFrame(partners.loc[keep, [c for c in columns if c in partners]])
    return out.reset_index(drop=True)


def _departement(zone: gpd.GeoDataFrame, kind: ZoneKind, profile: Profile) -> str | None:
    """The zone's département: its commune's (a QPV's or a cell's: under its centre)."""
    if kind == "commune":
        return departement_of(str(zone["code"].iloc[0]))
    commune = next((lv.communes for lv in profile.levels if lv.level == "commune"), ())
    return departement_of(commune[0]) if commune else None


def when(
    ws: Workspace,
    zone: str,
    *,
    settings: Settings,
    kind: ZoneKind | None = None,
    territory: str | None = None,
    week_start: date | None = None,
    open_type: str | None = None,
    top: int | None = 5,
    hours: tuple[int, int] = DEFAULT_HOURS,
    partner_radius_m: float = PARTNER_RADIUS_M,
) -> WhenResult:
    """Recommended slots for a zone (``territory when --zone CODE``).

    Parameters
    ----------
    ws
        The workspace.
    zone
        Commune INSEE code, QPV code or 1 km cell id.
    settings
        Gives ``k`` and ``rounding``.
    kind
        Zone kind (guessed from the code when omitted).
    territory
        Territory whose profile is the fallback (None: the whole workspace).
    week_start
        A day of the week to plan (default: next week).
    open_type
        Keep only slots where a partner of this type (``ML``, ``FT``…) is open.
    top
        Number of slots kept (None: every slot).
    hours
        Even hours of the outreach day.
    partner_radius_m
        Partners within this distance of the zone's centre, plus the nearest of each type.
    """
    if not ws.has("communes"):
        raise WorkspaceError(
            "aucune commune dans l'espace de travail : importez d'abord les communes"
        )
    found, kind = _find_zone(ws, zone, kind, territory)
    scope = None if is_whole(territory) else resolve(ws, territory)
    today = date.today()
    week = week_start or today + timedelta(days=7 - today.weekday())
    monday = week - timedelta(days=week.weekday())
    profile = contact_profile(
        ws, settings=settings, zone=found, kind=kind, communes=scope, hours=hours
    )
    notes = list(profile.notes)
    departement = _departement(found, kind, profile)
    calendar = week_calendar(monday, departement=departement)
    notes.extend(calendar.notes())
    partners = _near_partners(ws, found, partner_radius_m)
    partner_open = (
        partner_slots(partners, week_start=monday, hours=hours, departement=departement)
        if len(partners)
        else None
    )
    if partners.empty:
        notes.append("aucun partenaire localisé : horaires des partenaires non pris en compte")
    if open_type is not None and open_type not in set(partners.get("type", pd.Series(dtype=str))):
        notes.append(
            f"aucun partenaire de type « {PARTNER_PHRASES.get(open_type, open_type)} » proche"
        )
    transit = None
    stops = ws.read_layer("stops") if ws.has("stops") else None
    ids: list[str] = []
    if stops is not None:
        zone_m = found.to_crs(METRIC_CRS).geometry.iloc[0]
        stops_m = np.asarray(stops.to_crs(METRIC_CRS).geometry.to_numpy(), dtype=object)
        near = shapely.dwithin(stops_m, zone_m, settings.stop_buffer_m)
        ids = stops.loc[near, "stop_id"].astype(str).tolist()
    state = TRANSIT_TIMED if stops is not None else TRANSIT_NO_DATA  # no feed imported
    if stops is not None and ws.has("communes"):  # beyond the feeds: no « aucun départ »
        centre = gpd.GeoSeries(zone_centres(found).to_numpy(), crs=METRIC_CRS)
        state = zone_transit_states(centre, ws.read_layer("communes"), stops).iloc[0]
    stop_hours = None if stops is None else load_stop_hours(ws, stop_ids=ids)
    if state != TRANSIT_TIMED:
        notes.append(f"desserte : {STATE_PHRASES[state]}, non prise en compte")
    elif stops is not None and stop_hours is not None:
        names = dict(zip(stops["stop_id"].astype(str), stops["nom"].astype(str), strict=True))
        transit = transit_slots(stop_hours, ids, stop_names=names, hours=hours)
        notes.append(
            f"desserte : semaine de référence du GTFS ({ws.layers()['stop_hours'].vintage}), "
            f"arrêt le mieux desservi à moins de {format_distance(settings.stop_buffer_m)}"
        )
    else:
        notes.append("desserte par heure inconnue (horaires du GTFS non stockés)")
    slots = recommend_slots(
        profile,
        partners=partners,
        partner_open=partner_open,
        transit=transit,
        open_type=open_type,
        top=top,
        stop_radius_m=settings.stop_buffer_m,
        holidays=calendar.holiday_weekdays(),
        transit_state=state,
    )
    if partners is not None and len(partners):
        notes.append(
            "partenaires : ouverts sur tout le créneau, semaine du "
            f"{monday:%d/%m/%Y} (un jour férié : fermés, sauf horaires « PH » explicites) ; "
            + ", ".join(
                f"{r.nom} ({format_distance(float(r.distance_m))})"
                for r in partners.head(5).itertuples(index=False)
            )
        )
    return WhenResult(
        code=str(found["code"].iloc[0]),
        name=str(found["nom"].iloc[0]) if "nom" in found else str(found["code"].iloc[0]),
        kind=kind,
        week_start=monday,
        profile=profile,
        slots=slots,
        partners=partners,
        notes=tuple(dict.fromkeys(notes)),
    )
