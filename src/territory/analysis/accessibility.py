"""Accessibility to partners: two-step floating catchment areas (2SFCA, E2SFCA).

For each zone ``i`` (communes, QPV…) and partner ``j``, with ``t_ij`` the travel time of
the product's one travel model (:class:`territory.travel.TravelModel`, the same as the
rounds' and "Où et quand"'s), ``T`` the catchment (minutes), ``P_i`` the demand of the
zone and ``S_j`` the supply of the partner:

1. each partner's ratio ``R_j = S_j / Σ_{i: t_ij ≤ T} W(t_ij) P_i`` (supply per person
   who can reach it);
2. each zone's accessibility ``A_i = Σ_{j: t_ij ≤ T} W(t_ij) R_j``, published per
   10,000 people (:data:`PER`).

``W`` is the distance decay (Luo & Qi 2009 for E2SFCA):

* ``"none"``: ``W = 1`` in the catchment, the plain 2SFCA of Luo & Wang (2003);
* ``"stepped"`` (default): three equal sub-zones of the catchment, weights
  :data:`STEPPED_WEIGHTS` = 1, 0.68, 0.22 (Luo & Qi's weights for 0-10, 10-20 and 20-30
  minutes, from a Gaussian of β = 100);
* ``"gaussian"``: ``W(t) = (exp(−½ (t/T)²) − exp(−½)) / (1 − exp(−½))``, 1 at the zone,
  0 at the catchment's edge (Dai 2010's continuous form).

Travel times: straight-line distance between the zone's centre and the partner (metres,
Lambert-93) × detour factor at the mode's speed, plus the mode's access time
(:meth:`TravelModel.minutes`); so ``t ≤ T`` is a radius, and the catchment pairs come
from a KD-tree radius query — a sparse zones × partners matrix, never a dense one. With
an imported road network (:mod:`territory.roads`), walking, cycling and driving are timed
along it by Dijkstra searches cut off at ``T`` from the partners
(:meth:`territory.roads.RoadNetwork.reach`); public transport always uses the model's
straight-line times (the GTFS timetables are the planner's, :mod:`territory.rounds`).

A zone with no partner within ``T`` gets 0 and ``sans_partenaire`` True; a partner with
no demand in its catchment (nobody lives within reach) has no ratio and gives nothing.

Examples
--------
Three zones on a line, two partners (the hand computation is in
``tests/analysis/test_accessibility.py``):

>>> import geopandas as gpd, shapely
>>> from territory.crs import METRIC_CRS
>>> from territory.travel import TravelModel
>>> zones = gpd.GeoDataFrame({"code": ["a", "b", "c"]}, geometry=[
...     shapely.Point(0, 0), shapely.Point(2_000, 0), shapely.Point(20_000, 0)], crs=METRIC_CRS)
>>> partners = gpd.GeoDataFrame({"type": ["ML", "ML"]}, geometry=[
...     shapely.Point(0, 0), shapely.Point(3_000, 0)], crs=METRIC_CRS)
>>> model = TravelModel(detour=1.0)
>>> result = accessibility(zones, partners, demand=pd.Series([100.0, 300.0, 50.0]),
...                        mode="marche", model=model, catchment_min=30, decay="none")
>>> result.frame["acces"].round(2).tolist(), result.frame["sans_partenaire"].tolist()
([25.0, 58.33, 0.0], [False, False, True])
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from territory._errors import ValidationError
from territory.analysis.zones import points, zone_centres
from territory.hours import windows_from_opening_hours
from territory.travel import SAME_PLACE_M, TravelModel
from territory.vocab import MODES

__all__ = [
    "ACCESS_COLUMNS",
    "DECAYS",
    "DEFAULT_CATCHMENT_MIN",
    "PER",
    "STEPPED_WEIGHTS",
    "Accessibility",
    "Decay",
    "accessibility",
    "catchment_pairs",
    "decay_weights",
    "floating_catchment",
    "weekly_hours",
]

Decay = Literal["none", "stepped", "gaussian"]
DECAYS: tuple[Decay, ...] = ("none", "stepped", "gaussian")
STEPPED_WEIGHTS = (1.0, 0.68, 0.22)
"""Luo & Qi (2009): weights of the first, second and last third of the catchment."""
DEFAULT_CATCHMENT_MIN = 30.0
"""The catchment: minutes of travel within which a partner is in reach."""
PER = 10_000
"""Accessibility is published in partners (or opening hours) per this many people."""
ACCESS_COLUMNS = ["acces", "partenaires_accessibles", "sans_partenaire"]
_GAUSS_EDGE = float(np.exp(-0.5))


@dataclass(frozen=True)
class Accessibility:
    """Accessibility of zones to partners and the parameters that made it.

    Attributes
    ----------
    frame
        Aligned on the zones' index: ``acces`` (supply per :data:`PER` people),
        ``partenaires_accessibles`` (partners within the catchment) and
        ``sans_partenaire`` (no partner in reach: ``acces`` is 0).
    parameters
        Method, decay, mode, catchment, supply and demand sources, travel model.
    """

    frame: pd.DataFrame
    parameters: dict[str, Any]


def decay_weights(
    minutes: npt.ArrayLike, *, catchment_min: float, decay: Decay
) -> npt.NDArray[np.float64]:
    """The weight ``W(t)`` of travel times within the catchment (0 beyond it).

    Examples
    --------
    >>> decay_weights([0, 5, 15, 25, 31], catchment_min=30, decay="stepped").tolist()
    [1.0, 1.0, 0.68, 0.22, 0.0]
    >>> decay_weights([0, 15, 30], catchment_min=30, decay="gaussian").round(3).tolist()
    [1.0, 0.701, 0.0]
    """
    t = np.asarray(minutes, dtype=np.float64)
    if decay == "stepped":  # one small index per pair (millions of them), then one lookup
        flat = t.reshape(-1)  # a single time too
        if 0 < catchment_min < np.inf:  # the thirds' first times: two comparisons a pair
            first, second = _step_starts(float(catchment_min))
            step = (flat >= first).view(np.uint8)
            step += flat >= second
        else:
            third = flat / catchment_min * 3  # below 1, below 2, from 2 on (NaN: the first step)
            step = (third >= 1).view(np.uint8)
            step += third >= 2
        step[~(flat <= catchment_min)] = 3  # beyond the catchment (NaN too): 0
        table = np.array([*STEPPED_WEIGHTS, 0.0])  # positive weights: no clipping at 0
        return np.take(table, step).reshape(t.shape)
    inside = t <= catchment_min
    if decay == "none":
        weight = np.ones_like(t)
    elif decay == "gaussian":
        weight = (np.exp(-0.5 * (t / catchment_min) ** 2) - _GAUSS_EDGE) / (1 - _GAUSS_EDGE)
    else:
        raise ValidationError(f"décroissance inconnue « {decay} » (attendu : {', '.join(DECAYS)})")
    return np.where(inside, np.maximum(weight, 0.0), 0.0)


@functools.lru_cache(maxsize=64)
def _step_starts(catchment_min: float) -> tuple[float, float]:
    """The first times whose third ``t / T × 3`` (rounded as numpy rounds it) reaches 1 and 2.

    The third only grows with ``t`` (each rounding keeps the order), so comparing ``t``
    with these two times gives the steps of the third itself, bit for bit, without
    dividing millions of times. Found by halving the interval of the floats' bit patterns
    between 0 and ``T`` (whose third is 3).

    Examples
    --------
    >>> _step_starts(30.0)
    (10.0, 20.0)
    """
    starts = []
    for level in (1.0, 2.0):
        low, high = 0, struct.unpack("<q", struct.pack("<d", catchment_min))[0]
        while high - low > 1:  # the third of ``low`` is below the level, that of ``high`` not
            middle = (low + high) // 2
            t = struct.unpack("<d", struct.pack("<q", middle))[0]
            if t / catchment_min * 3 >= level:
                high = middle
            else:
                low = middle
        starts.append(struct.unpack("<d", struct.pack("<q", high))[0])
    return starts[0], starts[1]


def catchment_pairs(
    zone_xy: npt.ArrayLike,
    partner_xy: npt.ArrayLike,
    *,
    mode: str,
    model: TravelModel,
    catchment_min: float,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Every (zone, partner) within ``catchment_min`` minutes, and its travel time.

    Straight-line model: a KD-tree radius query (``t ≤ T`` is ``d ≤ r``). With a road
    network serving ``mode``: :meth:`territory.roads.RoadNetwork.reach`, the zones off the
    network (or out of the network's reach) keeping the straight line.

    Returns
    -------
    tuple
        Zone positions, partner positions and minutes, one entry per pair in reach.
    """
    zones = np.asarray(zone_xy, dtype=np.float64).reshape(-1, 2)
    partners = np.asarray(partner_xy, dtype=np.float64).reshape(-1, 2)
    empty = (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float64))
    if not len(zones) or not len(partners):
        return empty
    speed = model.speed(mode)
    access = float(model.access_minutes.get(mode, 0.0))
    moving = max(catchment_min - access, 0.0)
    radius = moving / 60.0 * speed * 1000.0 / model.detour
    radius = max(radius, SAME_PLACE_M)  # the same place is always in reach (0 minutes)
    network = model.network
    along = None
    if network is not None and network.serves(mode):
        along = network.reach(zones, partners, mode, speed_kmh=speed, limit=moving)
    if along is not None and along[3].all() and along[4].all():
        # Every zone and partner on the network: no pair keeps its straight line, whose
        # search (a sixth of the time on a département) is skipped.
        none = np.empty(0, dtype=np.int64)
        i, j, minutes = _merge_network(none, none.copy(), np.empty(0), along, access)
    else:
        found = cKDTree(zones).sparse_distance_matrix(  # pairs at distance 0 included
            cKDTree(partners), radius, output_type="ndarray"
        )
        i = found["i"].astype(np.int64)
        j = found["j"].astype(np.int64)
        minutes = model.minutes(found["v"], mode)
        if along is not None:
            i, j, minutes = _merge_network(i, j, minutes, along, access)
    keep = minutes <= catchment_min
    if keep.all():  # the common case on a network: no copy of millions of pairs
        return i, j, minutes
    return i[keep], j[keep], minutes[keep]


def _merge_network(
    i: npt.NDArray[np.int64],
    j: npt.NDArray[np.int64],
    minutes: npt.NDArray[np.float64],
    along: tuple[Any, ...],
    access: float,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Network times for pairs whose both ends are on the network, straight lines else.

    The access time is added to the network's minutes in place (``along`` is the caller's
    own :meth:`territory.roads.RoadNetwork.reach`: millions of pairs are not copied).
    """
    ni, nj, nmin, on_origin, on_target = along
    nmin = np.asarray(nmin, dtype=np.float64)
    np.add(nmin, access, out=nmin, where=nmin > 0)  # in place; 0 stays 0 (the same place)
    if not len(i):  # every pair on the network: nothing to merge, nothing to copy
        return np.asarray(ni, dtype=np.int64), np.asarray(nj, dtype=np.int64), nmin
    off = ~(np.asarray(on_origin, dtype=bool)[i] & np.asarray(on_target, dtype=bool)[j])
    return (
        np.concatenate([np.asarray(ni, dtype=np.int64), i[off]]),
        np.concatenate([np.asarray(nj, dtype=np.int64), j[off]]),
        np.concatenate([np.asarray(nmin, dtype=np.float64), minutes[off]]),
    )


def floating_catchment(
    zone: npt.ArrayLike,
    partner: npt.ArrayLike,
    minutes: npt.ArrayLike,
    *,
    demand: npt.ArrayLike,
    supply: npt.ArrayLike,
    catchment_min: float,
    decay: Decay = "stepped",
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """The two steps on catchment pairs: accessibility per :data:`PER` people, partners in reach.

    Parameters
    ----------
    zone, partner, minutes
        One entry per (zone, partner) pair in reach (:func:`catchment_pairs`).
    demand
        People of each zone (NaN counts as 0).
    supply
        Supply of each partner (1 each, or weekly opening hours).
    catchment_min
        The catchment ``T`` (minutes).
    decay
        ``"none"`` (2SFCA), ``"stepped"`` or ``"gaussian"`` (E2SFCA).

    Examples
    --------
    >>> a, n = floating_catchment([0, 1, 1], [0, 0, 1], [0.0, 5.0, 5.0], demand=[10, 30],
    ...                           supply=[1, 1], catchment_min=30, decay="none")
    >>> (a / PER).round(4).tolist(), n.tolist()
    ([0.025, 0.0583], [1, 2])
    """
    people = np.nan_to_num(np.asarray(demand, dtype=np.float64))
    i = np.asarray(zone, dtype=np.int64)
    j = np.asarray(partner, dtype=np.int64)
    t = np.asarray(minutes, dtype=np.float64)
    weight = decay_weights(t, catchment_min=catchment_min, decay=decay)
    buffer = np.empty(len(weight))  # one array of the pairs' terms, for both steps
    ratio = _ratios(
        i, j, t, people, np.asarray(supply, dtype=np.float64), catchment_min, decay, weight, buffer
    )
    np.take(ratio, j, out=buffer)
    buffer *= weight
    step2 = np.bincount(i, weights=buffer, minlength=len(people))
    access = np.asarray(step2, dtype=np.float64) * PER
    in_reach = np.bincount(i, minlength=len(people)).astype(np.int64)
    return access, in_reach


def _ratios(
    i: npt.NDArray[np.int64],
    j: npt.NDArray[np.int64],
    minutes: npt.NDArray[np.float64],
    demand: npt.NDArray[np.float64],
    supply: npt.NDArray[np.float64],
    catchment_min: float,
    decay: Decay,
    weight: npt.NDArray[np.float64] | None = None,
    buffer: npt.NDArray[np.float64] | None = None,
) -> npt.NDArray[np.float64]:
    """Step 1: each partner's supply over the weighted demand in its catchment (0 if none).

    ``weight``: the pairs' decay weights when the caller has them already; ``buffer``: an
    array of the pairs' length to write the terms in.
    """
    if weight is None:
        weight = decay_weights(minutes, catchment_min=catchment_min, decay=decay)
    people = np.nan_to_num(demand)
    terms = np.take(people, i, out=buffer)
    terms *= weight  # the product of the way before (weight × people), either way round
    reached = np.bincount(j, weights=terms, minlength=len(supply))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio: npt.NDArray[np.float64] = np.where(reached > 0, supply / reached, 0.0)
    return ratio


def _steps_along(
    zone_xy: npt.NDArray[np.float64],
    partner_xy: npt.NDArray[np.float64],
    *,
    demand: npt.NDArray[np.float64],
    supply: npt.NDArray[np.float64],
    mode: str,
    model: TravelModel,
    catchment_min: float,
    decay: Decay,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]] | None:
    """:func:`floating_catchment` of :func:`catchment_pairs`, along the network chunk by chunk.

    None when there is no network for ``mode`` or a zone or partner is off it (then the
    pairs mix network and straight-line times: the caller takes the general way). The
    searches' chunks (:meth:`territory.roads.RoadNetwork.reach_chunks`) are used as they
    come, while fresh: the access time, the catchment, the weights, step 1 (all the pairs
    of a partner are in one chunk, in the order of :func:`catchment_pairs`) and the
    partners in reach; step 2 then adds each partner's terms to its zones in the order of
    :func:`catchment_pairs` (by partner node, then partner), so that every sum is the one
    of :func:`floating_catchment` on those pairs, bit for bit, without the copies of the
    millions of pairs that put them in that order.
    """
    network = model.network
    if network is None or not network.serves(mode) or not len(zone_xy) or not len(partner_xy):
        return None
    access = float(model.access_minutes.get(mode, 0.0))
    near_o, near_t, rank, chunks = network.reach_chunks(
        zone_xy,
        partner_xy,
        mode,
        speed_kmh=model.speed(mode),
        limit=max(catchment_min - access, 0.0),
    )
    if not (near_o.all() and near_t.all()):
        return None
    people = np.nan_to_num(demand)
    reached = np.zeros(len(supply))
    in_reach = np.zeros(len(zone_xy), dtype=np.int64)
    runs: list[tuple[int, int, npt.NDArray[np.int64], npt.NDArray[np.float64]]] = []
    for part in chunks:
        minutes, origins, stops = part.minutes, part.origins, part.stops
        np.add(minutes, access, out=minutes, where=minutes > 0)  # 0 stays 0 (the same place)
        keep = minutes <= catchment_min
        if not keep.all():
            kept = np.concatenate([[0], np.cumsum(keep)])
            stops = kept[stops]
            minutes, origins = minutes[keep], origins[keep]
        counts = np.diff(stops, prepend=0)
        weight = decay_weights(minutes, catchment_min=catchment_min, decay=decay)
        terms = people.take(origins)
        terms *= weight  # the product of floating_catchment (weight × people)
        reached += np.bincount(
            np.repeat(part.targets, counts), weights=terms, minlength=len(supply)
        )
        in_reach += np.bincount(origins, minlength=len(zone_xy))
        for target, stop, count in zip(
            part.targets.tolist(), stops.tolist(), counts.tolist(), strict=True
        ):
            if count:
                span = slice(stop - count, stop)
                runs.append((int(rank[target]), target, origins[span], weight[span]))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(reached > 0, supply / reached, 0.0)
    step2 = np.zeros(len(zone_xy))
    for _, target, origins, weight in sorted(runs, key=lambda run: run[0]):
        step2[origins] += weight * ratio[target]  # a partner reaches a zone once
    return step2 * PER, in_reach


def _centres_xy(zones: gpd.GeoDataFrame) -> npt.NDArray[np.float64]:
    """Lambert-93 coordinates of the zones' centres, ``(n, 2)``."""
    centres = zone_centres(zones)
    return np.column_stack([centres.x.to_numpy(), centres.y.to_numpy()]).reshape(-1, 2)


def weekly_hours(hours: pd.Series) -> pd.Series:
    """Opening hours per week of OSM ``opening_hours`` texts (NA when unknown or empty).

    Examples
    --------
    >>> weekly_hours(pd.Series(["Mo-Fr 09:00-12:00", "", "n'importe quoi"])).tolist()
    [15.0, <NA>, <NA>]
    """
    cache: dict[str, float | None] = {}
    out: list[float | None] = []
    for text in hours.fillna("").astype(str):
        if text not in cache:
            windows = windows_from_opening_hours(text) if text.strip() else None
            total = sum(end - start for spans in (windows or {}).values() for start, end in spans)
            cache[text] = total / 60.0 if windows and total > 0 else None
        out.append(cache[text])
    return pd.Series(out, index=hours.index, dtype="Float64", name="heures_semaine")


def accessibility(
    zones: gpd.GeoDataFrame,
    partners: gpd.GeoDataFrame,
    *,
    demand: pd.Series,
    mode: str,
    model: TravelModel | None = None,
    catchment_min: float = DEFAULT_CATCHMENT_MIN,
    decay: Decay = "stepped",
    supply: Literal["partners", "hours"] = "partners",
    demand_source: str = "",
    at: gpd.GeoDataFrame | None = None,
) -> Accessibility:
    """2SFCA / E2SFCA accessibility of ``zones`` to ``partners`` (see the module docs).

    Parameters
    ----------
    zones
        Zones with a CRS (their centres are the origins).
    partners
        Partner points with a CRS (rows without a position are left out, and counted).
    demand
        People of each zone, aligned on ``zones`` (15-29 when imported, else the total).
    mode
        A mode of :data:`territory.vocab.MODES`.
    model
        The travel model (default: :class:`TravelModel` ``()``).
    catchment_min
        Minutes of travel within which a partner is in reach.
    decay
        ``"none"`` (2SFCA), ``"stepped"`` or ``"gaussian"`` (E2SFCA).
    supply
        ``"partners"``: each counts 1; ``"hours"``: its weekly opening hours (partners
        with unknown hours count the median of the known ones, and are counted).
    demand_source
        French: where the demand comes from (for the parameters).
    at
        Other zones where to read the accessibility (QPV), with the partners' ratios of
        step 1 computed on the demand of ``zones`` (default: ``zones`` themselves).

    Returns
    -------
    Accessibility
        :data:`ACCESS_COLUMNS` aligned on ``at`` (or ``zones``) and the parameters.
    """
    if mode not in MODES:
        raise ValidationError(
            f"mode de déplacement inconnu « {mode} » (attendu : {', '.join(MODES)})"
        )
    if decay not in DECAYS:
        raise ValidationError(f"décroissance inconnue « {decay} » (attendu : {', '.join(DECAYS)})")
    if not catchment_min > 0:
        raise ValidationError(f"zone de chalandise de {catchment_min} min (attendu : plus de 0)")
    if supply not in ("partners", "hours"):
        raise ValidationError(f"offre inconnue « {supply} » (attendu : partners, hours)")
    model = model or TravelModel()
    zone_xy = _centres_xy(zones)
    geoms, ok = points(partners, "partenaires")
    located = partners.loc[ok]
    partner_xy = shapely.get_coordinates(geoms[ok]).reshape(-1, 2)
    unknown_hours = 0
    if supply == "hours" and len(located):
        hours = weekly_hours(located["horaires"] if "horaires" in located else pd.Series(""))
        unknown_hours = int(hours.isna().sum())
        known = hours.dropna()
        offer = hours.fillna(float(known.median()) if len(known) else 1.0).to_numpy(dtype=float)
    else:
        offer = np.ones(len(located))
    people = pd.to_numeric(demand, errors="coerce").astype("Float64").reindex(zones.index)
    demand_values = people.to_numpy(dtype=float, na_value=np.nan)
    target = zones if at is None else at
    along = None
    if at is None:  # along the network, chunk by chunk, when every point is on it
        along = _steps_along(
            zone_xy,
            partner_xy,
            demand=demand_values,
            supply=offer,
            mode=mode,
            model=model,
            catchment_min=catchment_min,
            decay=decay,
        )
    if along is not None:
        access, in_reach = along
    elif at is not None:  # step 1 on the demand zones, step 2 at the others
        i, j, minutes = catchment_pairs(
            zone_xy, partner_xy, mode=mode, model=model, catchment_min=catchment_min
        )
        ratio = _ratios(i, j, minutes, demand_values, offer, catchment_min, decay)
        i, j, minutes = catchment_pairs(
            _centres_xy(at), partner_xy, mode=mode, model=model, catchment_min=catchment_min
        )
        weight = decay_weights(minutes, catchment_min=catchment_min, decay=decay)
        step2 = np.bincount(i, weights=weight * ratio[j], minlength=len(at))
        access = np.asarray(step2, dtype=np.float64) * PER
        in_reach = np.bincount(i, minlength=len(at)).astype(np.int64)
    else:
        i, j, minutes = catchment_pairs(
            zone_xy, partner_xy, mode=mode, model=model, catchment_min=catchment_min
        )
        access, in_reach = floating_catchment(
            i,
            j,
            minutes,
            demand=demand_values,
            supply=offer,
            catchment_min=catchment_min,
            decay=decay,
        )
    frame = pd.DataFrame(
        {
            "acces": access,
            "partenaires_accessibles": in_reach,
            "sans_partenaire": in_reach == 0,
        },
        index=target.index,
    )
    parameters: dict[str, Any] = {
        "method": "2SFCA" if decay == "none" else "E2SFCA",
        "decay": decay,
        "weights": list(STEPPED_WEIGHTS) if decay == "stepped" else None,
        "mode": mode,
        "catchment_min": float(catchment_min),
        "per": PER,
        "supply": "heures d'ouverture par semaine" if supply == "hours" else "1 par partenaire",
        "partners": len(located),
        "partners_without_position": int((~ok).sum()),
        "partners_unknown_hours": unknown_hours,
        "demand": demand_source or "population donnée",
        "travel_model": {
            "detour": model.detour,
            "speed_kmh": model.speed(mode),
            "access_min": float(model.access_minutes.get(mode, 0.0)),
            "network": model.network is not None and model.network.serves(mode),
        },
        "zones_without_partner": int((in_reach == 0).sum()),
    }
    return Accessibility(frame, parameters)
