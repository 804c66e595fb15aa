"""The candidate visits of the solver: one node per place, day and slot, locks and notes.

Private to :mod:`territory.rounds.solver`: :class:`Candidates` turns places, teams,
travel minutes and values into the visit nodes the OR-Tools model is built on (the
locked visits first, then every place × day × run of equal-valued slots a team can reach
in its windows), keeps the best ``max_candidates`` of them, and writes a French note for
every place or lock that cannot be planned.

Three rules shape the nodes:

* **sectors**: a team is offered only the places of its sector (:attr:`Team.sector
  <territory.rounds.model.Team.sector>`); with ``outside_weight`` it may leave it, the
  visit then counting for that share of its value (the solver's arc costs);
* **sites**: places of the same name in the same zone are one site (the stops of one
  station on several lines, a square entered twice): the once-a-day rule holds per site;
* **weekly zone caps** (``zone_caps``): a zone capped at 0 (a monthly commune already
  visited this month) gets no node; the solver caps the others;
* **stability**: each visit of the previous plan (``previous``) gets a *stable* node, the
  same place, day and team, starting within :data:`STABLE_MINUTES` of its former start,
  worth a bonus (``stability`` × the mean value of the candidate nodes) on top of its
  value: a plan changes a recurring visit only for a better one.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from territory.rounds.model import (
    DAY_MINUTES,
    Place,
    Team,
    Visit,
    _day_fr,
    _hhmm_fr,
)

__all__ = ["STABLE_MINUTES", "UNREACHABLE", "Candidates", "at_or_after", "at_or_before"]

_Interval = tuple[int, int]  # inclusive range of start times (minutes)

UNREACHABLE = 10 * DAY_MINUTES
"""Travel minutes of a forbidden arc: beyond any time window."""

_COVERAGE_KEEP = 10  # nodes kept per zone to cover when candidates are capped
_CAPPED_KEEP = 6  # nodes kept per allowed visit of a capped zone, when candidates are capped
STABLE_MINUTES = 30
"""A kept visit starts within this many minutes of its previous start."""

# --------------------------------------------------------------------------------------
# Interval helpers (inclusive ranges of start times)


def _intersect(a: Sequence[_Interval], b: Sequence[_Interval]) -> list[_Interval]:
    out = []
    for lo1, hi1 in a:
        for lo2, hi2 in b:
            lo, hi = max(lo1, lo2), min(hi1, hi2)
            if lo <= hi:
                out.append((lo, hi))
    return _union(out)


def _union(spans: Iterable[_Interval]) -> list[_Interval]:
    out: list[_Interval] = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _starts(windows: Sequence[tuple[int, int]], duration: int) -> list[_Interval]:
    """Start times at which a visit of ``duration`` fits in one of ``windows``."""
    return _union((a, b - duration) for a, b in windows if b - duration >= a)


def at_or_after(domain: Sequence[_Interval], t: int) -> int | None:
    """The earliest start of ``domain`` at or after ``t`` (None: none)."""
    for lo, hi in domain:
        if t <= hi:
            return max(lo, t)
    return None


def at_or_before(domain: Sequence[_Interval], t: int) -> int | None:
    """The latest start of ``domain`` at or before ``t`` (None: none)."""
    for lo, hi in reversed(domain):
        if t >= lo:
            return min(hi, t)
    return None


@dataclass(frozen=True)
class _Vehicle:
    team: int
    day: int  # index in ``days``
    open: int
    close: int


@dataclass
class _Node:
    place: int
    day: int  # index in ``days``
    value: float
    domain: list[_Interval]
    vehicles: list[int]
    duration: int
    lock: Visit | None = None
    copy_of: int | None = None  # coverage copy of this node
    bonus: float = 0.0  # stability bonus (a visit of the previous plan kept in place)


class Candidates:
    """Candidate nodes, locks and notes: what the OR-Tools model is built on."""

    def __init__(
        self,
        places: Sequence[Place],
        teams: Sequence[Team],
        matrices: Mapping[str, npt.NDArray[np.float64]],
        team_key: Sequence[str],
        values: npt.NDArray[np.float64],
        slots: Sequence[tuple[int, int]],
        days: Sequence[int],
        *,
        required_zones: set[str],
        max_visits_per_place: int | None,
        max_candidates: int | None,
        zone_caps: Mapping[str, int] | None = None,
        outside_weight: float | None = None,
    ) -> None:
        self.places = places
        self.teams = teams
        self.days = list(days)
        self.values = values
        self.slots = slots
        self.required = required_zones
        self.max_visits = max_visits_per_place
        self.max_candidates = max_candidates
        self.notes: list[str] = []
        self.index = {p.id: i for i, p in enumerate(places)}
        n = len(places)
        # Travel minutes per team, rounded up; unreachable pairs become UNREACHABLE.
        self.keys = sorted(set(team_key))
        self.key_of_team = [self.keys.index(k) for k in team_key]
        self.minutes = []
        for key in self.keys:
            m = matrices[key]
            rounded = np.where(np.isfinite(m), np.ceil(m - 1e-9), UNREACHABLE)
            self.minutes.append(np.minimum(rounded, UNREACHABLE).astype(np.int64))
        self.base = [n + k for k in range(len(teams))]
        self.vehicles: list[_Vehicle] = []
        for k, team in enumerate(teams):
            available = False
            for d, weekday in enumerate(self.days):
                for a, b in team.availability.get(weekday, ()):
                    self.vehicles.append(_Vehicle(k, d, a, b))
                    available = True
            if not available:
                self.notes.append(
                    f"Équipe « {team.name} » : aucune disponibilité les jours planifiés."
                )
        self.nodes: list[_Node] = []
        self.locked_days: set[tuple[int, int]] = set()  # (place, day) pairs with a lock
        self.lock_count: dict[int, int] = defaultdict(int)
        self.covered_by_locks: set[str] = set()
        self.zone_caps = dict(zone_caps or {})
        self.outside_weight = outside_weight
        # Whether team k may visit place i: its sector holds the place's zone.
        self.in_sector = np.array(
            [[t.sector is None or p.zone in t.sector for p in places] for t in teams],
            dtype=bool,
        ).reshape(len(teams), n)
        self.stable_offered = 0
        sites: dict[tuple[str, str], int] = {}
        self.site = [
            sites.setdefault((" ".join(p.name.lower().split()) or f"#{p.id}", p.zone), len(sites))
            for p in places
        ]
        self.locked_sites: set[tuple[int, int]] = set()  # (site, day) pairs with a lock

    # -- helpers ------------------------------------------------------------------------

    def travel(self, team: int, i: int, j: int) -> int:
        return int(self.minutes[self.key_of_team[team]][i, j])

    def allowed(self, team: int, place: int) -> bool:
        """Whether ``team`` may visit ``place``: in its sector, or sectors are soft."""
        return self.outside_weight is not None or bool(self.in_sector[team, place])

    def place_label(self, i: int) -> str:
        place = self.places[i]
        return f"« {place.name} » ({place.kind})"

    def vehicle_range(self, v: int, place: int, duration: int) -> _Interval | None:
        """Start times at ``place`` that fit in vehicle ``v``'s window, trips included."""
        veh = self.vehicles[v]
        base = self.base[veh.team]
        t_in, t_out = self.travel(veh.team, base, place), self.travel(veh.team, place, base)
        if t_in >= UNREACHABLE or t_out >= UNREACHABLE:
            return None
        lo, hi = veh.open + t_in, veh.close - duration - t_out
        return (lo, hi) if lo <= hi else None

    def place_windows(self, i: int, d: int) -> list[tuple[int, int]]:
        windows = self.places[i].windows
        if windows is None:
            return [(0, DAY_MINUTES)]
        return list(windows.get(self.days[d], ()))

    def slot_value(self, i: int, d: int, start: int) -> float:
        for s, (a, b) in enumerate(self.slots):
            if a <= start < b:
                return float(self.values[i, d, s])
        return 0.0

    # -- locks ---------------------------------------------------------------------------

    def add_locks(self, locked: Sequence[Visit]) -> None:
        team_index = {t.name: k for k, t in enumerate(self.teams)}
        by_vehicle: dict[int, list[tuple[Visit, int]]] = defaultdict(list)
        ordered = sorted(locked, key=lambda v: (v.team, v.day, v.start))
        for position, lock in enumerate(ordered):
            later = [
                (u, self.index[u.place])
                for u in ordered[position + 1 :]
                if u.team == lock.team
                and u.day == lock.day
                and u.place in self.index
                and 0 <= u.start < u.end <= DAY_MINUTES
            ]
            place = self.index.get(lock.place)
            label = f"« {self.places[place].name} »" if place is not None else repr(lock.place)
            what = f"La visite verrouillée {label} ({lock.team}, {_day_fr(lock.day)} "
            what += f"{_hhmm_fr(lock.start)})"
            k = team_index.get(lock.team)
            if place is None or k is None:
                missing = "lieu" if place is None else "équipe"
                self.notes.append(f"{what} est abandonnée : {missing} inconnu(e).")
                continue
            if lock.day not in self.days:
                self.notes.append(f"{what} est abandonnée : ce jour n'est pas planifié.")
                continue
            if not 0 <= lock.start < lock.end <= DAY_MINUTES:
                self.notes.append(f"{what} est abandonnée : horaires invalides.")
                continue
            d = self.days.index(lock.day)
            duration = lock.end - lock.start
            if (place, d) in self.locked_days:
                self.notes.append(
                    f"{what} est abandonnée : le lieu a déjà une visite verrouillée ce jour-là."
                )
                continue
            # The window must hold the visit; the trips are checked by ``_fits`` on the
            # whole sequence of locks (a lock may follow another, not the base).
            candidates = [
                v
                for v, veh in enumerate(self.vehicles)
                if veh.team == k
                and veh.day == d
                and veh.open <= lock.start
                and lock.start + duration <= veh.close
                and self._reachable(v, place)
            ]
            chosen = next(
                (v for v in candidates if self._fits(v, by_vehicle[v], lock, later)), None
            )
            if chosen is None:
                reason = (
                    "elle ne tient pas avec les autres visites verrouillées (trajets compris)"
                    if candidates
                    else "elle sort des disponibilités de l'équipe (trajets depuis et vers "
                    "la base compris)"
                )
                self.notes.append(f"{what} est abandonnée : {reason}.")
                continue
            windows = self.place_windows(place, d)
            if not any(a <= lock.start and lock.end <= b for a, b in windows):
                self.notes.append(
                    f"{what} est conservée hors des horaires de présence du lieu "
                    f"{self.place_label(place)}."
                )
            by_vehicle[chosen].append((lock, place))
            by_vehicle[chosen].sort(key=lambda item: item[0].start)
            self.locked_days.add((place, d))
            self.locked_sites.add((self.site[place], d))
            self.lock_count[place] += 1
            self.covered_by_locks.add(self.places[place].zone)
            self.nodes.append(
                _Node(
                    place,
                    d,
                    self.slot_value(place, d, lock.start),
                    [(lock.start, lock.start)],
                    [chosen],
                    duration,
                    lock=lock,
                )
            )

    def _reachable(self, v: int, place: int) -> bool:
        """Whether vehicle ``v``'s team can travel from its base to ``place`` and back."""
        team, base = self.vehicles[v].team, self.base[self.vehicles[v].team]
        return max(self.travel(team, base, place), self.travel(team, place, base)) < UNREACHABLE

    def _fits(
        self,
        v: int,
        kept: list[tuple[Visit, int]],
        lock: Visit,
        later: Sequence[tuple[Visit, int]] = (),
    ) -> bool:
        """Whether ``lock`` fits in vehicle ``v`` after the locks ``kept`` there.

        The locks still to come on the same day (``later``) are tried with it first: a
        lock may be followed by another one instead of the trip back to the base.
        """
        veh = self.vehicles[v]
        place = self.index[lock.place]
        following = [(u, p) for u, p in later if veh.open <= u.start and u.end <= veh.close]
        return self._sequence_fits(veh, [*kept, (lock, place), *following]) or (
            bool(following) and self._sequence_fits(veh, [*kept, (lock, place)])
        )

    def _sequence_fits(self, veh: _Vehicle, visits: list[tuple[Visit, int]]) -> bool:
        """Whether the visits, in time order, fit in the window with every trip."""
        here, free = self.base[veh.team], veh.open
        for visit, p in sorted(visits, key=lambda item: item[0].start):
            if free + self.travel(veh.team, here, p) > visit.start:
                return False
            here, free = p, visit.end
        return free + self.travel(veh.team, here, self.base[veh.team]) <= veh.close

    # -- candidates ----------------------------------------------------------------------

    def add_candidates(self, previous: Sequence[Visit] = (), stability: float = 0.0) -> None:
        """The visit nodes, the stable nodes of ``previous``, then the coverage copies."""
        zone_locks: dict[str, int] = defaultdict(int)
        for node in self.nodes:
            zone_locks[self.places[node.place].zone] += 1
        outside: list[int] = []
        for i, place in enumerate(self.places):
            if self.max_visits is not None and self.lock_count[i] >= self.max_visits:
                continue
            cap = self.zone_caps.get(place.zone)
            if cap is not None and cap - zone_locks[place.zone] <= 0:
                continue
            if not any(self.allowed(k, i) for k in range(len(self.teams))):
                outside.append(i)
                continue
            present = reachable = False
            first_node = len(self.nodes)  # place i's free nodes are added below, nowhere else
            # A place of a zone to cover may be visited for coverage alone (value 0).
            to_cover = place.zone in self.required and place.zone not in self.covered_by_locks
            any_value = to_cover
            for d in range(len(self.days)):
                if (self.site[i], d) in self.locked_sites:
                    continue
                starts = _starts(self.place_windows(i, d), place.duration)
                present = present or bool(starts)
                ranges: dict[int, _Interval] = {}
                for v, veh in enumerate(self.vehicles):
                    if veh.day != d or not self.allowed(veh.team, i):
                        continue
                    r = self.vehicle_range(v, i, place.duration)
                    if r is not None:
                        ranges[v] = r
                reachable = reachable or bool(ranges)
                runs: list[_Node] = []
                last_slot = -2
                for s, (a, b) in enumerate(self.slots):
                    v_s = float(self.values[i, d, s])
                    if v_s <= 0 and not to_cover:
                        continue
                    any_value = True
                    domain = _intersect(starts, [(a, b - 1)])
                    allowed = [v for v, r in ranges.items() if _intersect(domain, [r])]
                    if not allowed:
                        continue
                    domain = _intersect(domain, _union(ranges[v] for v in allowed))
                    if runs and last_slot == s - 1 and runs[-1].value == v_s:
                        # Same value as the previous slot: one node for both.
                        runs[-1].domain = _union([*runs[-1].domain, *domain])
                        runs[-1].vehicles = sorted({*runs[-1].vehicles, *allowed})
                    else:
                        runs.append(_Node(i, d, v_s, domain, allowed, place.duration))
                    last_slot = s
                for _ in range(place.per_day):  # a place asked several times a day
                    self.nodes.extend(dataclasses.replace(node) for node in runs)
            has_nodes = any(
                node.place == i and node.lock is None for node in self.nodes[first_node:]
            )
            if not has_nodes and any_value:
                if not present:
                    why = "il n'est présent aucun des jours planifiés (horaires trop courts)"
                elif not reachable:
                    why = "aucune équipe ne peut l'atteindre et revenir à sa base dans ses créneaux"
                else:
                    why = "ses horaires de présence ne croisent les créneaux utiles d'aucune équipe"
                self.notes.append(f"Lieu {self.place_label(i)} : jamais visitable, {why}.")
        if outside:
            names = ", ".join(self.place_label(i) for i in outside[:5])
            more = f" et {len(outside) - 5} autre(s)" if len(outside) > 5 else ""
            self.notes.append(
                f"{len(outside)} lieu(x) hors de tous les secteurs des équipes, non visité(s) : "
                f"{names}{more} (autorisez les visites hors secteur ou élargissez un secteur)."
            )
        self._select()
        self._add_stable(previous, stability)
        # Coverage copies, one per node of the required zones not already covered by a
        # locked visit: a zone is covered by a visit at any time its places can be
        # visited (and by a kept visit), not only at the best slot of each day — when
        # every place's best slot was the same, its zone lost to visits elsewhere.
        self.zone_copies: dict[str, list[int]] = defaultdict(list)
        covering = [
            n
            for n, node in enumerate(self.nodes)
            if node.lock is None
            and self.places[node.place].zone in self.required
            and self.places[node.place].zone not in self.covered_by_locks
        ]
        for n in covering:
            node = self.nodes[n]
            self.zone_copies[self.places[node.place].zone].append(len(self.nodes))
            self.nodes.append(
                _Node(
                    node.place,
                    node.day,
                    node.value,
                    node.domain,
                    node.vehicles,
                    node.duration,
                    copy_of=n,
                    bonus=node.bonus,
                )
            )

    def _add_stable(self, previous: Sequence[Visit], stability: float) -> None:
        """One stable node per visit of the previous plan that can be kept as it was.

        Same place, day and team, a start within :data:`STABLE_MINUTES` of the previous
        one (in the slots where the place is worth a visit), worth its value plus the
        bonus ``stability`` × the mean value of the candidate nodes.
        """
        values = [node.value for node in self.nodes if node.lock is None and node.value > 0]
        if not previous or stability <= 0 or not values:
            return
        bonus = stability * float(np.mean(values))
        team_index = {t.name: k for k, t in enumerate(self.teams)}
        zone_locks: dict[str, int] = defaultdict(int)
        for node in self.nodes:
            if node.lock is not None:
                zone_locks[self.places[node.place].zone] += 1
        done: set[tuple[int, int]] = set()
        for visit in previous:
            i, k = self.index.get(visit.place), team_index.get(visit.team)
            if i is None or k is None or visit.day not in self.days:
                continue
            d = self.days.index(visit.day)
            place = self.places[i]
            if (self.site[i], d) in self.locked_sites or (i, d) in done or not self.allowed(k, i):
                continue
            cap = self.zone_caps.get(place.zone)
            if cap is not None and cap - zone_locks[place.zone] <= 0:
                continue  # the zone is capped out this week (a monthly commune)
            if self.max_visits is not None and self.lock_count[i] >= self.max_visits:
                continue
            near = [(visit.start - STABLE_MINUTES, visit.start + STABLE_MINUTES)]
            window = _intersect(_starts(self.place_windows(i, d), place.duration), near)
            to_cover = place.zone in self.required
            parts, worth = [], []
            for s, (a, b) in enumerate(self.slots):
                part = _intersect(window, [(a, b - 1)])
                if part and (self.values[i, d, s] > 0 or to_cover):
                    parts += part
                    worth.append(float(self.values[i, d, s]))
            ranges = {
                v: r
                for v, veh in enumerate(self.vehicles)
                if veh.team == k
                and veh.day == d
                and (r := self.vehicle_range(v, i, place.duration)) is not None
                and _intersect(parts, [r])
            }
            if not ranges:
                continue
            domain = _intersect(_union(parts), _union(ranges.values()))
            done.add((i, d))
            self.stable_offered += 1
            self.nodes.append(
                _Node(i, d, min(worth), domain, sorted(ranges), place.duration, bonus=bonus)
            )

    def _score(self, n: int) -> float:
        """Value per minute of a visit node: the visit and the trip from the nearest base."""
        node = self.nodes[n]
        access = min(
            self.travel(self.vehicles[v].team, self.base[self.vehicles[v].team], node.place)
            for v in node.vehicles
        )
        return (node.value + node.bonus) / (node.duration + access)

    def _select(self) -> None:
        """Keep the ``max_candidates`` visit nodes of best value per minute."""
        free = [n for n, node in enumerate(self.nodes) if node.lock is None]
        if self.max_candidates is None or len(free) <= self.max_candidates:
            return

        ranked = sorted(free, key=self._score, reverse=True)
        if self.zone_caps:
            # A zone capped at c visits a week needs few nodes: the best _CAPPED_KEEP × c
            # of each, so that the kept nodes spread over more zones.
            seen: dict[str, int] = defaultdict(int)
            spread = []
            for n in ranked:
                zone = self.places[self.nodes[n].place].zone
                seen[zone] += 1
                if zone not in self.zone_caps or seen[zone] <= _CAPPED_KEEP * self.zone_caps[zone]:
                    spread.append(n)
            spread_set = set(spread)
            ranked = spread + [n for n in ranked if n not in spread_set]
        kept = set(ranked[: self.max_candidates])
        per_zone: dict[str, int] = defaultdict(int)
        for n in ranked:  # the best nodes of every zone to cover, whatever their rank
            zone = self.places[self.nodes[n].place].zone
            if zone in self.required and per_zone[zone] < _COVERAGE_KEEP:
                kept.add(n)
                per_zone[zone] += 1
        self.nodes = [
            node for n, node in enumerate(self.nodes) if node.lock is not None or n in kept
        ]
