"""Weekly round planner: every plan checked against the rules, independently of the solver."""

from __future__ import annotations

import doctest
import math
from collections.abc import Collection, Sequence
from datetime import date

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from bench import planning as bench_planning
from territory import CRSError, ValidationError
from territory.hours import windows_from_opening_hours
from territory.rounds import geo as planning
from territory.rounds.geo import plan_rounds, suggest_places, travel_time_matrix
from territory.rounds.model import Place, Plan, Team, Visit, hhmm
from territory.rounds.solver import plan_from_matrix
from territory.travel import TravelModel
from territory.vocab import KINDS, MODES

FAST = 0.3  # seconds of search: tiny instances converge at once


def check_plan(
    plan: Plan,
    places: Sequence[Place],
    teams: Sequence[Team],
    travel: dict[str, npt.ArrayLike],
    *,
    days: Sequence[int] = (0, 1, 2, 3, 4),
    value: npt.ArrayLike | None = None,
    first_slot: int = 480,
    slot_minutes: int = 120,
    max_visits_per_place: int | None = None,
    required_zones: Collection[str] = (),
) -> None:
    """Assert every rule of a plan from its inputs alone."""
    n = len(places)
    index = {p.id: i for i, p in enumerate(places)}
    team_index = {t.name: k for k, t in enumerate(teams)}

    def minutes(team: Team) -> npt.NDArray[np.float64]:
        key = team.name if team.name in travel else team.mode
        return np.asarray(travel[key], dtype=np.float64)

    seen_days: set[tuple[str, int]] = set()
    for visit in plan.visits:
        place = places[index[visit.place]]
        assert visit.day in days
        assert (visit.place, visit.day) not in seen_days, "lieu visité deux fois le même jour"
        seen_days.add((visit.place, visit.day))
        if not visit.locked:
            assert visit.end - visit.start == place.duration
            if place.windows is not None:
                assert any(
                    a <= visit.start and visit.end <= b for a, b in place.windows.get(visit.day, ())
                ), f"{visit} hors des horaires du lieu"
        if value is not None and not visit.locked:
            array = np.asarray(value, dtype=np.float64)
            if array.ndim == 3:
                slot = (visit.start - first_slot) // slot_minutes
                assert 0 <= slot < array.shape[2]
                assert visit.value == pytest.approx(
                    array[index[visit.place], days.index(visit.day), slot]
                )
            assert visit.value > 0 or place.zone in required_zones
    if max_visits_per_place is not None:
        for place in places:
            assert sum(v.place == place.id for v in plan.visits) <= max_visits_per_place
    visits_in_rounds = 0
    for r in plan.rounds:
        team = teams[team_index[r.team]]
        matrix = minutes(team)
        base = n + team_index[r.team]
        assert any(a <= r.depart and r.back <= b for a, b in team.availability.get(r.day, ())), (
            f"tournée {r} hors des disponibilités"
        )
        stops = [
            v
            for v in plan.visits
            if v.team == r.team and v.day == r.day and r.depart <= v.start < r.back
        ]
        assert [v.place for v in stops] == list(r.places)
        here, free = base, r.depart
        work = 0.0
        for v in stops:
            leg = matrix[here, index[v.place]]
            assert math.isfinite(leg)
            assert v.start >= free + leg - 1e-9, f"trajet trop court avant {v}"
            work += leg + (v.end - v.start)
            here, free = index[v.place], v.end
        back_leg = matrix[here, base]
        assert r.back >= free + back_leg - 1e-9
        work += back_leg
        assert r.work >= work - 1e-9
        visits_in_rounds += len(stops)
    assert visits_in_rounds == len(plan.visits)
    for team in teams:
        rounds = [r for r in plan.rounds if r.team == team.name]
        if team.max_rounds is not None:
            assert len(rounds) <= team.max_rounds
        if team.max_hours is not None:
            assert plan.work_hours(team.name) <= team.max_hours + 1e-9
    assert plan.objective == pytest.approx(sum(v.value for v in plan.visits))


def line_instance() -> tuple[list[Place], Team, dict[str, npt.ArrayLike]]:
    """Three places 10 minutes apart from each other and from the base."""
    places = [
        Place("A", "Parc A", "parc", duration=60, priority=5),
        Place("B", "Gare B", "gare", duration=45, priority=3),
        Place("C", "Stade C", "city stade", duration=45, priority=4),
    ]
    team = Team("Équipe", "marche", availability={0: ((14 * 60, 16 * 60),)})
    travel = {"marche": np.full((4, 4), 10.0) - 10 * np.eye(4)}
    return places, team, travel


# --------------------------------------------------------------------------------------
# Optimality and rules on hand-made instances


def test_tiny_instance_finds_the_optimum_known_by_hand() -> None:
    # 120 minutes: A + anything is 135 min; B + C is exactly 120 min and worth 7 > A's 5.
    places, team, travel = line_instance()
    plan = plan_from_matrix(places, [team], travel, days=(0,), time_limit=FAST)
    check_plan(plan, places, [team], travel, days=(0,))
    assert sorted(v.place for v in plan.visits) == ["B", "C"]
    assert plan.objective == 7
    assert plan.notes == ()
    (r,) = plan.rounds
    assert (r.depart, r.back, r.work) == (14 * 60, 16 * 60, 120)


def test_the_best_slot_is_chosen_and_valued() -> None:
    places = [Place("P", "Parc", "parc", duration=30)]
    team = Team("Équipe", "vélo", availability={0: ((9 * 60, 20 * 60),)})
    travel = {"vélo": [[0, 5], [5, 0]]}
    value = np.array([[[1.0, 1.0, 1.0, 1.0, 4.0, 2.0, 0.0]]])  # 16-18 h is best
    plan = plan_from_matrix(places, [team], travel, value=value, days=(0,), time_limit=FAST)
    check_plan(plan, places, [team], travel, days=(0,), value=value)
    (visit,) = plan.visits
    assert 16 * 60 <= visit.start < 18 * 60
    assert visit.value == 4.0


def test_place_windows_and_split_availability() -> None:
    # The market is only there on Tuesday morning; the team has a lunch break at its base.
    places = [
        Place("M", "Marché", "marché", windows={1: ((8 * 60, 12 * 60),)}, duration=60),
        Place("S", "Pied d'immeuble", "pied d'immeuble", windows={1: ((16 * 60, 21 * 60),)}),
    ]
    team = Team(
        "Équipe",
        "transports en commun",
        availability={1: ((9 * 60, 12 * 60), (14 * 60, 18 * 60))},
    )
    travel = {"transports en commun": [[0, 20, 25], [20, 0, 15], [25, 15, 0]]}
    plan = plan_from_matrix(places, [team], travel, days=(0, 1), time_limit=FAST)
    check_plan(plan, places, [team], travel, days=(0, 1))
    assert {(v.place, v.day) for v in plan.visits} == {("M", 1), ("S", 1)}
    assert len(plan.rounds) == 2  # one round per availability window
    assert plan.visits[0].start >= 9 * 60 + 20


def test_no_place_twice_a_day_but_every_day() -> None:
    places = [Place("G", "Gare", "gare", duration=30)]
    team = Team("Équipe", "marche", availability=dict.fromkeys(range(3), ((9 * 60, 19 * 60),)))
    travel = {"marche": [[0, 5], [5, 0]]}
    value = np.ones((1, 3, 5))
    plan = plan_from_matrix(places, [team], travel, value=value, days=(0, 1, 2), time_limit=FAST)
    check_plan(plan, places, [team], travel, days=(0, 1, 2), value=value)
    assert sorted(v.day for v in plan.visits) == [0, 1, 2]
    weekly = plan_from_matrix(
        places, [team], travel, days=(0, 1, 2), max_visits_per_place=1, time_limit=FAST
    )
    assert len(weekly.visits) == 1


def test_two_teams_share_the_places_without_duplicates() -> None:
    places = [Place(f"P{i}", f"Parc {i}", "parc", duration=50) for i in range(6)]
    teams = [
        Team("Nord", "marche", availability={0: ((14 * 60, 17 * 60),)}),
        Team("Sud", "voiture", availability={0: ((14 * 60, 17 * 60),)}),
    ]
    walk = np.full((8, 8), 10.0)
    np.fill_diagonal(walk, 0)
    travel = {"marche": walk, "voiture": walk / 2}
    plan = plan_from_matrix(places, teams, travel, days=(0,), time_limit=FAST)
    check_plan(plan, places, teams, travel, days=(0,))
    # Each team fits 3 visits of 50 min in 3 hours (walking 10 min legs: 3 × 50 + 40 = 190
    # > 180, so the walking team fits 2 and the car 3).
    assert sum(v.team == "Nord" for v in plan.visits) == 2
    assert sum(v.team == "Sud" for v in plan.visits) == 3


def test_weekly_hours_and_rounds_are_capped() -> None:
    places = [Place(f"P{i}", f"Lieu {i}", "parc", duration=60) for i in range(10)]
    team = Team("Équipe", "vélo", max_hours=5, max_rounds=2)
    travel = {"vélo": np.full((11, 11), 15.0) - 15 * np.eye(11)}
    plan = plan_from_matrix(places, [team], travel, time_limit=FAST)
    check_plan(plan, places, [team], travel)
    assert len(plan.rounds) <= 2
    assert plan.work_hours("Équipe") <= 5
    # 5 h of field work: 3 visits and 4 legs in one round (255 min), or 5 legs in two
    # rounds (270 min); a fourth visit would need 75 more minutes.
    assert len(plan.visits) == 3


def test_required_zones_are_covered_before_value() -> None:
    places = [
        Place("Q", "Pied d'immeuble", "pied d'immeuble", zone="QN01401M", priority=0.1),
        Place("V", "Parc", "parc", zone="01001", priority=5),
        Place("W", "Gare", "gare", zone="01002", priority=5),
    ]
    team = Team("Équipe", "voiture", availability={0: ((14 * 60, 16 * 60),)})
    travel = {"voiture": np.full((4, 4), 10.0) - 10 * np.eye(4)}
    free = plan_from_matrix(places, [team], travel, days=(0,), time_limit=FAST)
    assert sorted(v.place for v in free.visits) == ["V", "W"]
    covered = plan_from_matrix(
        places, [team], travel, days=(0,), required_zones={"QN01401M"}, time_limit=FAST
    )
    check_plan(covered, places, [team], travel, days=(0,))
    assert "Q" in {v.place for v in covered.visits}
    assert covered.stats["missed_zones"] == 0
    assert covered.notes == ()
    # A zone to cover is visited even where its places are worth nothing.
    worthless = plan_from_matrix(
        places,
        [team],
        travel,
        value=[0.0, 5.0, 5.0],
        days=(0,),
        required_zones={"QN01401M"},
        time_limit=FAST,
    )
    check_plan(worthless, places, [team], travel, days=(0,), required_zones={"QN01401M"})
    assert min((v.place, v.value) for v in worthless.visits) == ("Q", 0.0)
    assert worthless.objective == 5.0


def test_zones_to_cover_whose_best_slots_clash_are_all_covered() -> None:
    """Zones best at the same hour: each covered, one of them at a lesser slot.

    Issue #20 on the real Lens-Liévin: a zone was covered only at its best slot of a day,
    so zones best at the same hour were missed (« le temps ne suffit pas »).
    """
    places = [
        Place("A", "Cœur du QPV A", "quartier prioritaire", zone="QN06201M", duration=110),
        Place("B", "Cœur du QPV B", "quartier prioritaire", zone="QN06202M", duration=110),
        Place("M", "Marché", "marché", zone="62001", duration=110),
    ]
    team = Team("Équipe", "voiture", availability={0: ((10 * 60, 14 * 60),)})
    travel = {"voiture": np.full((4, 4), 5.0) - 5 * np.eye(4)}
    value = np.zeros((3, 1, 3))  # 2-hour slots from 8 h: A and B best at 10-12 h
    value[:, 0, 1:] = [[2.0, 1.0], [3.0, 1.0], [0.0, 5.0]]  # the market at 12-14 h
    plan = plan_from_matrix(
        places,
        [team],
        travel,
        value=value,
        days=(0,),
        first_slot=8 * 60,
        slot_minutes=120,
        required_zones={"QN06201M", "QN06202M"},
        time_limit=FAST,
    )
    assert sorted(v.place for v in plan.visits) == ["A", "B"]  # coverage before value
    assert plan.stats["missed_zones"] == 0
    assert plan.notes == ()


# --------------------------------------------------------------------------------------
# Locked visits


def test_locked_visits_stay_after_reoptimising() -> None:
    places, team, travel = line_instance()
    team = Team(
        "Équipe", "marche", availability={0: ((14 * 60, 16 * 60),), 1: ((9 * 60, 12 * 60),)}
    )
    # Lock A on Monday at 14:40: the optimiser would rather do B and C (worth 7).
    lock = Visit("Équipe", "A", 0, 14 * 60 + 40, 15 * 60 + 40, locked=True)
    plan = plan_from_matrix(places, [team], travel, days=(0, 1), locked=[lock], time_limit=FAST)
    check_plan(plan, places, [team], travel, days=(0, 1))
    kept = [v for v in plan.visits if v.locked]
    assert [(v.team, v.place, v.day, v.start, v.end) for v in kept] == [
        ("Équipe", "A", 0, 14 * 60 + 40, 15 * 60 + 40)
    ]
    assert not any(v.day == 0 and not v.locked for v in plan.visits)  # nothing else fits Monday
    assert {v.place for v in plan.visits if v.day == 1} == {"A", "C"}  # 9 > B + C
    assert plan.notes == ()
    # Re-optimising the plan with all its visits locked gives the same plan back.
    again = plan_from_matrix(
        places,
        [team],
        travel,
        days=(0, 1),
        locked=[Visit(v.team, v.place, v.day, v.start, v.end, locked=True) for v in plan.visits],
        time_limit=FAST,
    )
    assert [(v.place, v.day, v.start, v.end) for v in again.visits] == [
        (v.place, v.day, v.start, v.end) for v in plan.visits
    ]
    assert all(v.locked for v in again.visits)


def test_contradictory_locks_are_dropped_with_notes() -> None:
    places, team, travel = line_instance()
    locks = [
        Visit("Équipe", "A", 0, 14 * 60 + 10, 15 * 60 + 10, locked=True),
        Visit("Équipe", "B", 0, 15 * 60, 15 * 60 + 45, locked=True),  # overlaps A
        Visit("Équipe", "C", 0, 8 * 60, 9 * 60, locked=True),  # outside availability
        Visit("Équipe", "Z", 0, 14 * 60, 15 * 60, locked=True),  # unknown place
        Visit("Autre", "C", 0, 14 * 60, 15 * 60, locked=True),  # unknown team
        Visit("Équipe", "C", 3, 14 * 60, 15 * 60, locked=True),  # day not planned
    ]
    plan = plan_from_matrix(places, [team], travel, days=(0,), locked=locks, time_limit=FAST)
    check_plan(plan, places, [team], travel, days=(0,))
    assert [(v.place, v.start) for v in plan.visits if v.locked] == [("A", 14 * 60 + 10)]
    assert len(plan.notes) == 5
    assert all("abandonnée" in note for note in plan.notes)
    assert any("autres visites verrouillées" in note for note in plan.notes)
    assert any("disponibilités" in note for note in plan.notes)


def test_locks_beyond_the_weekly_caps_are_kept_with_a_note() -> None:
    places, team, travel = line_instance()
    team = Team("Équipe", "marche", availability={0: ((14 * 60, 16 * 60),)}, max_hours=1)
    lock = Visit("Équipe", "A", 0, 14 * 60 + 10, 15 * 60 + 10, locked=True)
    plan = plan_from_matrix(places, [team], travel, days=(0,), locked=[lock], time_limit=FAST)
    assert [v.place for v in plan.visits] == ["A"]
    assert any("plafond" in note for note in plan.notes)


# --------------------------------------------------------------------------------------
# Infeasible weeks: a partial plan and French notes, never an exception


def test_infeasible_inputs_give_notes_not_exceptions() -> None:
    nan = math.nan
    places = [
        Place("far", "Hameau", "place de village", zone="01099"),
        Place("sun", "Marché du dimanche", "marché", windows={6: ((480, 720),)}),
        Place("ok", "Parc", "parc", zone="QN00001M"),
        Place("q2", "Parc 2", "parc", zone="QN00002M"),
        Place("q3", "Parc 3", "parc", zone="QN00003M"),
    ]
    teams = [
        Team("Équipe", "marche", availability={0: ((14 * 60, 15 * 60 + 30),)}),
        Team("Absente", "vélo", availability={6: ((9 * 60, 12 * 60),)}),
    ]
    walk = np.full((7, 7), 10.0) - 10 * np.eye(7)
    walk[0, :] = walk[:, 0] = nan  # the hamlet is out of reach
    walk[0, 0] = 0
    travel = {"marche": walk, "vélo": walk}
    plan = plan_from_matrix(
        places,
        teams,
        travel,
        days=(0,),
        required_zones={"01099", "QN00001M", "QN00002M", "QN00003M", "QN09999X"},
        time_limit=FAST,
    )
    check_plan(plan, places, teams, travel, days=(0,))
    notes = "\n".join(plan.notes)
    assert "« Hameau »" in notes and "aucune équipe ne peut l'atteindre" in notes
    assert "« Marché du dimanche »" in notes and "aucun des jours planifiés" in notes
    assert "Équipe « Absente » : aucune disponibilité" in notes
    assert "Zone QN09999X" in notes and "aucun lieu candidat" in notes
    assert "Zone 01099" in notes and "aucun de ses lieux" in notes
    # 90 minutes cover one 45-minute QPV visit with its two 10-minute legs; two would need
    # 120 minutes: two of the three QPV stay uncovered.
    assert len(plan.visits) == 1
    assert plan.stats["missed_zones"] == 4
    assert sum("le temps des équipes ne suffit pas" in n for n in plan.notes) == 2


def test_nothing_possible_gives_an_empty_plan() -> None:
    places = [Place("a", "Parc", "parc", windows={0: ((6 * 60, 7 * 60),)})]
    team = Team("Équipe", "marche", availability={0: ((14 * 60, 18 * 60),)})
    plan = plan_from_matrix(places, [team], {"marche": [[0, 5], [5, 0]]}, days=(0,))
    assert plan.visits == () and plan.objective == 0
    assert plan.stats["status"] == "vide"
    assert len(plan.notes) == 1


def test_malformed_inputs_raise_one_validation_error_listing_everything() -> None:
    places = [
        Place("a", "Parc", "jardin", duration=0),
        Place("a", "Gare", "gare", windows={8: ((600, 500),)}),
    ]
    teams = [Team("Équipe", "trottinette"), Team("Équipe", "marche", size=0)]
    with pytest.raises(ValidationError) as error:
        plan_from_matrix(places, teams, {"marche": np.zeros((3, 3))}, days=(0, 9))
    message = str(error.value)
    for expected in (
        "type 'jardin' inconnu",
        "durée de visite 0",
        "identifiant 'a' en double",
        "jour 8 invalide",
        "créneau 600-500 invalide",
        "mode 'trottinette' inconnu",
        "nom en double",
        "effectif 0",
        "forme (3, 3)",
        "jours [0, 9] invalides",
    ):
        assert expected in message
    with pytest.raises(ValidationError, match="valeurs des visites"):
        plan_from_matrix(
            [Place("a", "Parc", "parc")],
            [Team("Équipe", "marche")],
            {"marche": np.zeros((2, 2))},
            value=np.ones((1, 2, 3)),
        )


# --------------------------------------------------------------------------------------
# Property-based: random small weeks, every rule holds


@st.composite
def weeks(draw: st.DrawFn) -> dict[str, object]:
    n = draw(st.integers(1, 5))
    days = sorted(draw(st.sets(st.integers(0, 4), min_size=1, max_size=2)))

    def windows(lo: int, hi: int) -> tuple[tuple[int, int], ...]:
        a = draw(st.integers(lo, hi - 60))
        b = draw(st.integers(a + 30, hi))
        return ((a, b),)

    places = []
    for i in range(n):
        present = draw(st.booleans())
        places.append(
            Place(
                f"p{i}",
                f"Lieu {i}",
                draw(st.sampled_from(KINDS)),
                zone=draw(st.sampled_from(["", "Z1", "Z2"])),
                windows={d: windows(8 * 60, 21 * 60) for d in days} if present else None,
                duration=draw(st.integers(15, 90)),
            )
        )
    n_teams = draw(st.integers(1, 2))
    teams = [
        Team(
            f"T{k}",
            draw(st.sampled_from(MODES)),
            availability={d: windows(8 * 60, 20 * 60) for d in days},
            max_hours=draw(st.one_of(st.none(), st.floats(0.5, 6))),
            max_rounds=draw(st.one_of(st.none(), st.integers(0, 2))),
        )
        for k in range(n_teams)
    ]
    size = n + n_teams
    matrix = np.array(
        draw(st.lists(st.floats(0, 60), min_size=size * size, max_size=size * size))
    ).reshape(size, size)
    np.fill_diagonal(matrix, 0)
    if draw(st.booleans()):
        matrix[0, -1] = math.inf  # a one-way gap: unreachable from the last base
    travel = dict.fromkeys(MODES, matrix)
    value = np.array(
        draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 3.0]), min_size=n * len(days) * 6,
                      max_size=n * len(days) * 6))
    ).reshape(n, len(days), 6)  # fmt: skip
    return {
        "places": places,
        "teams": teams,
        "travel": travel,
        "days": days,
        "value": value,
        "required": draw(st.sets(st.sampled_from(["Z1", "Z2"]))),
        "max_visits": draw(st.one_of(st.none(), st.integers(1, 2))),
    }


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(weeks())
def test_random_weeks_respect_every_rule(week: dict[str, object]) -> None:
    places, teams, travel = week["places"], week["teams"], week["travel"]
    days, value = week["days"], week["value"]
    assert isinstance(places, list) and isinstance(teams, list) and isinstance(travel, dict)
    assert isinstance(days, list) and isinstance(value, np.ndarray)
    plan = plan_from_matrix(
        places,
        teams,
        travel,
        value=value,
        days=days,
        required_zones=week["required"],  # type: ignore[arg-type]
        max_visits_per_place=week["max_visits"],  # type: ignore[arg-type]
        time_limit=0.15,
    )
    check_plan(
        plan,
        places,
        teams,
        travel,
        days=days,
        value=value,
        max_visits_per_place=week["max_visits"],  # type: ignore[arg-type]
        required_zones=week["required"],  # type: ignore[arg-type]
    )
    missed = plan.stats.get("missed_zones", 0)
    assert sum(note.startswith("Zone ") for note in plan.notes) == missed
    # Locking every visit and re-optimising keeps them all.
    locks = [Visit(v.team, v.place, v.day, v.start, v.end, locked=True) for v in plan.visits]
    again = plan_from_matrix(
        places, teams, travel, value=value, days=days, locked=locks, time_limit=0.15
    )
    kept = {(v.team, v.place, v.day, v.start, v.end) for v in again.visits if v.locked}
    assert kept == {(v.team, v.place, v.day, v.start, v.end) for v in locks}
    check_plan(again, places, teams, travel, days=days)


# --------------------------------------------------------------------------------------
# Candidate selection


def test_max_candidates_keeps_the_best_and_the_zones_to_cover() -> None:
    week = bench_planning.synthetic_week(30, seed=3)
    plan = plan_from_matrix(
        week.places,
        week.teams,
        week.travel,
        value=week.value,
        required_zones=week.required_zones,
        max_candidates=40,
        time_limit=1.0,
    )
    assert plan.stats["candidates"] <= 40 + 10 * len(week.required_zones)
    check_plan(plan, week.places, week.teams, week.travel, value=week.value)
    assert plan.stats["missed_zones"] == 0


# --------------------------------------------------------------------------------------
# Geo adapter, travel times, opening hours, suggestions


def test_travel_time_matrix_by_mode() -> None:
    xy = [[0, 0], [300, 400], [3000, 4000]]
    walk = travel_time_matrix(xy, "marche")
    assert walk[0, 1] == pytest.approx(0.5 * 1.3 / 4.5 * 60)
    assert np.allclose(walk, walk.T) and np.all(np.diag(walk) == 0)
    transit = travel_time_matrix(xy, "transports en commun")
    assert transit[0, 1] == pytest.approx(walk[0, 1])  # a short hop is walked
    assert transit[0, 2] == pytest.approx(10 + 5 * 1.3 / 15 * 60)
    car = travel_time_matrix(xy, "voiture", travel_model=TravelModel(detour=1.0))
    assert car[0, 2] == pytest.approx(5 + 5 / 40 * 60)
    with pytest.raises(ValidationError, match="mode 'avion' inconnu"):
        travel_time_matrix(xy, "avion")


def places_layer() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "id": ["parc", "gare", "marche"],
            "nom": ["Parc des Sports", "Gare de Moulins", "Marché Saint-Pierre"],
            "type": ["parc", "gare", "marché"],
            "zone": ["QN03001M", "", "03190"],
            "duree": [45, 30, "60"],
            "priorite": [2.0, 1.0, None],
            "horaires": [None, "", "Tu,Fr 08:00-12:30"],
        },
        geometry=[Point(3.3300, 46.5600), Point(3.3400, 46.5610), Point(3.3350, 46.5650)],
        crs="EPSG:4326",
    )


def test_plan_rounds_projects_and_delegates() -> None:
    layer = places_layer()
    team = Team(
        "Équipe Moulins",
        "marche",
        base=(3.3350, 46.5620),
        availability={1: ((9 * 60, 12 * 60),), 2: ((14 * 60, 18 * 60),)},
    )
    plan = plan_rounds(layer, [team], days=(1, 2), required_zones={"QN03001M"}, time_limit=FAST)
    assert {(v.place, v.day) for v in plan.visits} >= {("marche", 1), ("parc", 1), ("parc", 2)}
    # The same answer from the numeric core on the Lambert-93 matrix.
    projected = layer.to_crs(2154)
    base = gpd.GeoSeries([Point(team.base)], crs=4326).to_crs(2154)  # type: ignore[arg-type]
    xy = np.vstack([np.column_stack([projected.geometry.x, projected.geometry.y]),
                    [[base.x.iloc[0], base.y.iloc[0]]]])  # fmt: skip
    places = planning.places_from_frame(projected)
    check_plan(plan, places, [team], {"marche": travel_time_matrix(xy, "marche")}, days=(1, 2))
    assert places[2].windows == {1: ((480, 750),), 4: ((480, 750),)}
    assert places[2].duration == 60 and places[2].priority == 1.0


def test_plan_rounds_checks_crs_geometry_and_bases() -> None:
    layer = places_layer()
    team = Team("Équipe", "marche", base=(3.335, 46.562))
    with pytest.raises(CRSError, match="système de coordonnées"):
        plan_rounds(
            gpd.GeoDataFrame(layer.drop(columns="geometry"), geometry=list(layer.geometry)), [team]
        )
    with pytest.raises(ValidationError, match="base manquante"):
        plan_rounds(layer, [Team("Sans base", "vélo")])
    holes = layer.copy()
    holes.loc[1, "geometry"] = None
    with pytest.raises(ValidationError, match="sans géométrie"):
        plan_rounds(holes, [team])
    # Bases may come in another CRS than the layer.
    lambert = Team("Équipe", "marche", base=(725_000.0, 6_610_000.0))
    plan = plan_rounds(layer, [lambert], base_crs="EPSG:2154", days=(1,), time_limit=FAST)
    assert isinstance(plan, Plan)


def test_opening_hours_become_windows_on_the_planned_week() -> None:
    hours = "Mo-Fr 09:00-12:00,14:00-17:30; PH off"
    windows = windows_from_opening_hours(hours)
    assert windows is not None
    assert windows[0] == ((540, 720), (840, 1050)) and 5 not in windows
    # Week of 1 May 2026 (a Friday, public holiday): closed that Friday.
    may = windows_from_opening_hours(hours, week=date(2026, 4, 29))
    assert may is not None and 4 not in may and 3 in may
    assert windows_from_opening_hours("") is None
    assert windows_from_opening_hours("n'importe quoi") is None


def test_suggest_places_from_partners_and_hubs() -> None:
    partners = gpd.GeoDataFrame(
        {
            "nom": ["Mission locale", "France Travail"],
            "type": ["ML", "FT"],
            "type_libelle": ["Mission locale", "France Travail"],
            "horaires": ["Mo-Fr 09:00-12:00", ""],
        },
        geometry=[Point(3.331, 46.561), None],
        crs="EPSG:4326",
    )
    stops = gpd.GeoDataFrame(
        {
            "stop_id": ["s1", "s2", "s3", "s4"],
            "nom": ["Gare", "Gare", "Mairie", "Gare"],
            "departs_jour": [150, 250, 10, 60],
        },
        geometry=[
            Point(3.3400, 46.5610),
            Point(3.3405, 46.5612),
            Point(3.3300, 46.5700),
            Point(3.4500, 46.6000),  # another "Gare", 9 km away: a hub of its own
        ],
        crs="EPSG:4326",
    )
    zones = gpd.GeoDataFrame(
        {"code": ["QN03001M"]}, geometry=[box(3.32, 46.55, 3.335, 46.565)], crs="EPSG:4326"
    )
    found = suggest_places(partners, stops, zones=zones)
    assert found.crs == "EPSG:4326"
    assert found[["nom", "type", "zone"]].to_dict("records") == [
        {"nom": "Mission locale", "type": "local partenaire", "zone": "QN03001M"},
        {"nom": "Gare", "type": "arrêt de bus", "zone": ""},  # no train, no GTFS station
        {"nom": "Gare", "type": "arrêt de bus", "zone": ""},
    ]
    # a bus stop, however busy (400 departures at the merged one), is worth a QPV's heart
    assert found["priorite"].tolist() == [1.0, 1.0, 1.0]
    # a station: 1 + log10(departures / 40), rounded, at most 2
    stations = suggest_places(stops=stops.assign(ferre=True))
    assert stations[["type", "priorite"]].to_dict("records") == [
        {"type": "gare / pôle d'échanges", "priorite": 2.0},
        {"type": "gare / pôle d'échanges", "priorite": 1.18},
        {"type": "gare / pôle d'échanges", "priorite": 1.0},  # Mairie: 12 departures
    ]
    places = planning.places_from_frame(found)
    assert places[0].windows is not None and places[0].kind == "local partenaire"
    assert suggest_places().empty


# --------------------------------------------------------------------------------------
# Plan helpers, docs, benchmark


def test_plan_table_and_times() -> None:
    places, team, travel = line_instance()
    plan = plan_from_matrix(places, [team], travel, days=(0,), time_limit=FAST)
    frame = plan.to_frame()
    assert list(frame.columns) == [
        "team",
        "place",
        "day",
        "start",
        "end",
        "locked",
        "value",
        "travel",
    ]
    assert len(frame) == 2
    assert hhmm(0) == "00:00" and hhmm(1439) == "23:59"


@pytest.mark.parametrize("module", [planning, bench_planning])
def test_docstring_examples_run(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)  # type: ignore[arg-type]
    assert result.failed == 0 and result.attempted > 0


def test_benchmark_reports_ratios() -> None:
    result = bench_planning.planning_benchmark(
        sizes=(15,), budget_s=0.5, long_s=1.0, say=lambda _: None
    )
    assert 0 < result["p15_objective_share"] <= 1
    assert result["p15_gap_pct"] == pytest.approx(
        100 * (1 - result["p15_objective_share"]), abs=0.01
    )
    assert any("ratio" in key for key in result)
    assert "| 15 |" in bench_planning.table(result)


def test_a_lock_reached_from_the_previous_lock_is_kept() -> None:
    """Found by the random weeks: a lock that fits after another, not from the base.

    The base is 16 min from p3 but p1 → p3 takes 0, so the second lock fits after the first
    although it would not fit straight from the base.
    """
    places = [Place(f"p{i}", f"Lieu {i}", "parc", duration=15) for i in range(5)]
    teams = [
        Team("T0", "marche", availability={0: ((720, 751),)}),
        Team("T1", "marche", availability={0: ((480, 750),)}),
    ]
    travel = np.zeros((7, 7))
    travel[5, 3] = 16  # T0's base → p3
    locks = [
        Visit("T0", "p1", 0, 720, 735, locked=True),
        Visit("T0", "p3", 0, 735, 750, locked=True),
    ]
    plan = plan_from_matrix(
        places, teams, {"marche": travel}, days=[0], locked=locks, time_limit=0.5
    )
    kept = {(v.team, v.place, v.start, v.end) for v in plan.visits if v.locked}
    assert kept == {("T0", "p1", 720, 735), ("T0", "p3", 735, 750)}
    assert not plan.notes


def test_a_lock_followed_by_another_needs_no_trip_back_between_them() -> None:
    """Found by the random weeks: p3 → base takes 16 min, but p3 is followed by p2."""
    places = [Place(f"p{i}", f"Lieu {i}", "parc", duration=15) for i in range(5)]
    teams = [Team("T1", "marche", availability={1: ((480, 1095),)})]
    travel = np.zeros((6, 6))
    travel[3, 5] = 16  # p3 → T1's base
    locks = [
        Visit("T1", "p3", 1, 1065, 1080, locked=True),
        Visit("T1", "p2", 1, 1080, 1095, locked=True),
    ]
    plan = plan_from_matrix(
        places, teams, {"marche": travel}, days=[1], locked=locks, time_limit=0.5
    )
    kept = {(v.place, v.start) for v in plan.visits if v.locked}
    assert kept == {("p3", 1065), ("p2", 1080)} and not plan.notes


def test_partners_with_unknown_hours_are_never_suggested_as_open_any_time() -> None:
    """« Horaires inconnus » (#19): empty or unreadable hours never become "any time"."""
    partners = gpd.GeoDataFrame(
        {
            "nom": ["Mission locale", "Lycée (sur rendez-vous)", "Centre social"],
            "type": ["ML", "AUTRE", "CS"],
            "horaires": ["Mo-Fr 09:00-12:00", "", "sur rendez-vous"],
        },
        geometry=gpd.points_from_xy([2.75, 2.76, 2.77], [46.45, 46.45, 46.45]),
        crs=4326,
    )
    places = suggest_places(partners=partners)
    assert places["nom"].tolist() == ["Mission locale"]
    assert places["horaires"].tolist() == ["Mo-Fr 09:00-12:00"]
