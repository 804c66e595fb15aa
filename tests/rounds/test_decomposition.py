"""Issue #20: the week's search split into independent parts (teams that share nothing).

:func:`~territory.rounds.solver.plan_from_matrix` solves each group of teams whose
candidate nodes and rules touch no other team's on its own (``decompose``, the default);
the plan must be the plan each part gets alone, and a place two sectors share must keep
its teams in one part.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from territory.rounds.model import Place, Team, Visit
from territory.rounds.solver import plan_from_matrix

DAYS = (0, 1, 2)
AFTERNOON = dict.fromkeys(DAYS, ((14 * 60, 17 * 60),))


def _travel(xy: list[tuple[float, float]]) -> dict[str, list[list[float]]]:
    """Walking minutes between points (a minute per unit of distance, rounded up)."""
    a = np.array(xy, dtype=float)
    minutes = np.ceil(np.hypot(*(a[:, None, :] - a[None, :, :]).transpose(2, 0, 1)))
    return {"marche": minutes.tolist()}


def _two_sectors() -> tuple[list[Place], list[Team], list[tuple[float, float]]]:
    """Three places in zone A (west), two in B (east); one team per zone, bases last.

    Every visit fits (the optimum is unique up to the days of the eastern team's two
    rounds): a search of a second finds it whatever the machine's load.
    """
    places, xy = [], []
    for i in range(3):
        places.append(Place(f"a{i}", f"Ouest {i}", "parc", zone="A", duration=30, priority=1 + i))
        xy.append((-4.0 - 3 * i, 2.0 * (i % 2)))
    for i in range(2):
        places.append(Place(f"b{i}", f"Est {i}", "gare", zone="B", duration=30, priority=4 + i))
        xy.append((4.0 + 3 * i, -2.0 * (i % 2)))
    teams = [
        Team("Ouest", "marche", availability=AFTERNOON, sector=frozenset({"A"}), max_hours=6),
        Team("Est", "marche", availability=AFTERNOON, sector=frozenset({"B"}), max_rounds=2),
    ]
    return places, teams, [*xy, (-2.0, 0.0), (2.0, 0.0)]


def _keys(visits: tuple[Visit, ...]) -> set[tuple[str, str, int, int, bool]]:
    return {(v.team, v.place, v.day, v.start, v.locked) for v in visits}


def _places(visits: tuple[Visit, ...]) -> Counter[tuple[str, str]]:
    """Visits per team and place: what the value decides (days and times may tie)."""
    return Counter((v.team, v.place) for v in visits)


def test_two_sectors_plan_as_each_sector_alone() -> None:
    places, teams, xy = _two_sectors()
    lock = Visit("Est", "b1", 1, 15 * 60, 15 * 60 + 30, locked=True)
    kwargs = {"days": DAYS, "required_zones": ("A",), "time_limit": 1.0}
    whole = plan_from_matrix(places, teams, _travel(xy), locked=[lock], **kwargs)
    assert whole.stats["parts"] == 2
    west = plan_from_matrix(places[:3], teams[:1], _travel([*xy[:3], xy[5]]), **kwargs)
    east = plan_from_matrix(
        places[3:], teams[1:], _travel([*xy[3:5], xy[6]]), locked=[lock], **kwargs
    )
    assert west.stats["parts"] == east.stats["parts"] == 1
    assert _places(whole.visits) == _places(west.visits) + _places(east.visits)
    assert math.isclose(whole.objective, west.objective + east.objective)
    assert ("Est", "b1", 1, 15 * 60, True) in _keys(whole.visits)
    assert _places(whole.visits) == Counter(
        {("Ouest", "a0"): 3, ("Ouest", "a1"): 3, ("Ouest", "a2"): 3, ("Est", "b0"): 2}
        | {("Est", "b1"): 2}
    )
    assert whole.stats["missed_zones"] == 0
    # Searched as one model, the same week reaches the same value (small enough to be
    # solved to the optimum either way): the parts change the search, not the objective.
    mono = plan_from_matrix(places, teams, _travel(xy), locked=[lock], decompose=False, **kwargs)
    assert mono.stats["parts"] == 1
    assert math.isclose(mono.objective, whole.objective)
    # One thread or two: the same plan.
    alone = plan_from_matrix(places, teams, _travel(xy), locked=[lock], workers=2, **kwargs)
    assert _places(alone.visits) == _places(whole.visits)


def test_a_zone_in_two_sectors_keeps_their_teams_in_one_part() -> None:
    places, teams, xy = _two_sectors()
    # A market square on the border, in a zone both sectors hold: worth the most.
    places.append(Place("m", "Marché", "marché", zone="M", duration=30, priority=20))
    xy.insert(5, (0.0, 1.0))
    teams = [Team(t.name, t.mode, availability=AFTERNOON, sector=t.sector | {"M"}) for t in teams]
    plan = plan_from_matrix(places, teams, _travel(xy), days=DAYS, time_limit=1.0)
    assert plan.stats["parts"] == 1
    market = [(v.team, v.day) for v in plan.visits if v.place == "m"]
    assert sorted(d for _, d in market) == list(DAYS)  # once a day, whichever team
    zone = {p.id: p.zone for p in places}
    assert all(zone[v.place] in {"A", "M"} for v in plan.visits if v.team == "Ouest")
    assert all(zone[v.place] in {"B", "M"} for v in plan.visits if v.team == "Est")


def test_a_site_or_a_zone_to_cover_shared_by_sectors_joins_them() -> None:
    places, teams, xy = _two_sectors()
    teams = [Team(t.name, t.mode, availability=AFTERNOON, sector=t.sector | {"G"}) for t in teams]
    # Two stops of one station (one site: once a day in all), each reachable by one team
    # alone: only the site's rule ties the teams.
    station = [Place(f"s{i}", "Gare", "gare", zone="G", priority=10) for i in (1, 2)]
    xy[5:5] = [(-1.0, 0.0), (1.0, 0.0)]
    travel = _travel(xy)["marche"]
    apart = {"Ouest": np.array(travel), "Est": np.array(travel)}
    apart["Ouest"][:, 6] = apart["Ouest"][6, :] = np.inf
    apart["Est"][:, 5] = apart["Est"][5, :] = np.inf
    plan = plan_from_matrix([*places, *station], teams, apart, days=DAYS, time_limit=1.0)
    assert plan.stats["parts"] == 1
    days = [v.day for v in plan.visits if v.place in {"s1", "s2"}]
    assert len(days) == len(set(days)) > 0
    assert {v.team for v in plan.visits if v.place == "s1"} <= {"Ouest"}
    # Two stations of one zone to cover, one per team: the coverage ties them.
    north = [Place("s1", "Gare Nord", "gare", zone="G"), Place("s2", "Gare Sud", "gare", zone="G")]
    kwargs = {"days": DAYS, "time_limit": 0.5}
    assert plan_from_matrix([*places, *north], teams, apart, **kwargs).stats["parts"] == 2
    cover = plan_from_matrix([*places, *north], teams, apart, required_zones=["G"], **kwargs)
    assert cover.stats["parts"] == 1
    assert cover.stats["missed_zones"] == 0
    # Sectors apart: two parts; soft sectors: one.
    places, teams, xy = _two_sectors()
    assert plan_from_matrix(places, teams, _travel(xy), **kwargs).stats["parts"] == 2
    soft = plan_from_matrix(places, teams, _travel(xy), outside_sector=0.5, **kwargs)
    assert soft.stats["parts"] == 1
