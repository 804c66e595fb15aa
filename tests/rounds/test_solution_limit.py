"""Issue #23: a week searched for a number of solutions is the same plan on any machine.

``plan_from_matrix(..., solution_limit=N)`` stops each part's search after N solutions
rather than on time (``territory run``); ``time_limit`` is then a safety cap, and the
plan's ``stats["stopped_by"]`` says which of the two ended the search.
"""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest

from territory import ValidationError
from territory.rounds.model import Place, Team
from territory.rounds.solver import plan_from_matrix

DAYS = (0, 1, 2, 3, 4)


def _week() -> tuple[list[Place], list[Team], dict[str, list[list[float]]], np.ndarray]:
    """Sixty places in four zones, two teams on foot: enough for a search that goes on."""
    rng = np.random.default_rng(7)
    xy = rng.uniform(-20, 20, size=(60, 2))
    places = [Place(f"p{i}", f"Lieu {i}", "parc", zone=f"Z{i % 4}", duration=30) for i in range(60)]
    hours = dict.fromkeys(DAYS, ((14 * 60, 18 * 60),))
    teams = [Team("Nord", "marche", availability=hours), Team("Sud", "marche", availability=hours)]
    points = np.vstack([xy, [[0.0, 5.0], [0.0, -5.0]]])
    minutes = np.ceil(np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1)))
    value = rng.uniform(0.1, 2.0, size=(60, len(DAYS), 6))
    return places, teams, {"marche": minutes.tolist()}, value


def _rows(plan: object) -> list[dict[str, object]]:
    return [dataclasses.asdict(v) for v in plan.visits]  # type: ignore[attr-defined]


def test_the_same_number_of_solutions_gives_the_same_plan_whatever_the_time() -> None:
    places, teams, travel, value = _week()
    kwargs = {"value": value, "days": DAYS, "time_limit": 120.0, "solution_limit": 30}
    first = plan_from_matrix(places, teams, travel, **kwargs)
    # Again with a busy thread beside it, fighting the search for Python's lock: a search
    # bounded by time would end elsewhere; one bounded by solutions may not.
    done = threading.Event()

    def busy() -> None:
        while not done.is_set():
            sum(range(10_000))

    hog = threading.Thread(target=busy)
    hog.start()
    try:
        second = plan_from_matrix(places, teams, travel, **kwargs)
    finally:
        done.set()
        hog.join()
    assert first.stats["stopped_by"] == second.stats["stopped_by"] == "solutions"
    assert _rows(first) == _rows(second)
    assert first.objective == second.objective > 0
    # More solutions search further: a plan at least as good.
    longer = plan_from_matrix(places, teams, travel, **{**kwargs, "solution_limit": 200})
    assert longer.stats["stopped_by"] == "solutions"
    assert longer.objective >= first.objective - 1e-9


def test_the_safety_cap_says_when_it_stopped_the_search() -> None:
    places, teams, travel, value = _week()
    capped = plan_from_matrix(
        places, teams, travel, value=value, days=DAYS, time_limit=0.5, solution_limit=10**9
    )
    assert capped.stats["stopped_by"] == "temps"
    assert capped.visits  # a plan all the same
    timed = plan_from_matrix(places, teams, travel, value=value, days=DAYS, time_limit=0.5)
    assert timed.stats["stopped_by"] == "temps"


def test_a_solution_limit_below_one_is_refused_in_french() -> None:
    places, teams, travel, value = _week()
    with pytest.raises(ValidationError, match="nombre de solutions de la recherche"):
        plan_from_matrix(places, teams, travel, value=value, days=DAYS, solution_limit=0)
