"""The protected comparison: funnel per person, parts and totals, targets, rates, rounds."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from programme_data import contacts, names, programme_workspace

from territory import Settings
from territory._errors import ValidationError
from territory.analysis.need import AGE_TABLE
from territory.programme import Target, compare, define_programme
from territory.programme.compare import reach_date
from territory.store import Workspace

K = Settings().k
SLACK = 8  # noise up to ±5, then rounding to 5: a published value is within 7.5 of the truth


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = programme_workspace(tmp_path / "p.gpkg")
    # Pôle A: 60 people met, 30 enter a pathway (20 of them accompanied), 14 leave it
    contacts(ws, names("a", 60), commune="59001", day=date(2026, 2, 3), status="premier contact")
    contacts(ws, names("a", 30), commune="59001", day=date(2026, 3, 3), status="entrée en parcours")
    contacts(ws, names("a", 20), commune="59001", day=date(2026, 5, 3), status="accompagné")
    contacts(ws, names("a", 14), commune="59001", day=date(2026, 7, 3), status="sortie positive")
    # Pôle C (rural): 30 people, 12 of whom seen as « hors radars »
    contacts(ws, names("c", 30), commune="62001", day=date(2026, 2, 10), status="premier contact")
    contacts(ws, names("c", 12), commune="62001", day=date(2026, 4, 10), status="hors radars")
    define_programme(
        ws, "Dest", territories=["Pôle A", "Pôle C"], start=date(2025, 1, 1),
        end=date(2026, 12, 31),
        targets=[Target("Pôle A", "entrée en parcours", "2026", 40),
                 Target("Pôle C", "contact", "2026", 20)],
    )  # fmt: skip
    return ws


def _value(table: pd.DataFrame, territory: str, step: str, column: str = "Personnes") -> object:
    row = table[(table["Territoire"] == territory) & (table["Étape"] == step)]
    assert len(row) == 1, (territory, step)
    return row[column].iloc[0]


def test_funnel_counts_each_person_up_to_their_furthest_step(ws: Workspace) -> None:
    c = compare(ws, "Dest", settings=Settings())
    truth = {"contact": 60, "hors radars": 30, "entrée en parcours": 30, "accompagné": 20,
             "sortie": 14}  # fmt: skip
    for step, n in truth.items():
        shown = _value(c.funnel, "Pôle A", step)
        assert abs(int(shown) - n) <= SLACK, (step, shown)  # type: ignore[call-overload]
        assert int(shown) % 5 == 0  # type: ignore[call-overload]
    share = _value(c.funnel, "Pôle A", "entrée en parcours", "Part de l'étape précédente")
    published_share = int(_value(c.funnel, "Pôle A", "entrée en parcours")) / int(  # type: ignore[call-overload]
        _value(c.funnel, "Pôle A", "hors radars")  # type: ignore[call-overload]
    )
    assert share == pytest.approx(published_share)  # computed from published values only
    assert pd.isna(_value(c.funnel, "Pôle A", "contact", "Part de l'étape précédente"))
    # Pôle C: nobody beyond « hors radars »: zeros are zeros
    assert int(_value(c.funnel, "Pôle C", "entrée en parcours")) == 0  # type: ignore[call-overload]


def test_exit_classes_sum_to_the_exits(ws: Workspace) -> None:
    c = compare(ws, "Dest", settings=Settings())
    exits = c.exits[c.exits["Territoire"] == "Pôle A"].set_index("Classe de sortie")
    # statuses alone: every exit is a « sortie positive »
    assert exits.loc["sortie positive", "Personnes"] == _value(c.funnel, "Pôle A", "sortie")
    assert (exits.drop("sortie positive")["Personnes"] == 0).all()


def test_zone_types_split_each_step_with_secondary_suppression(ws: Workspace) -> None:
    # five people of Pôle A also met once in the rural commune: not in Pôle A's split
    c = compare(ws, "Dest", settings=Settings())
    zones = c.zones[c.zones["Étape"] == "contact"].set_index(["Territoire", "Type de zone"])
    assert zones.loc[("Pôle C", "rural"), "Personnes"] == _value(c.funnel, "Pôle C", "contact")
    assert zones.loc[("Pôle A", "autre"), "Personnes"] == _value(c.funnel, "Pôle A", "contact")


def test_a_small_part_hides_a_second_one(tmp_path: Path) -> None:
    ws = programme_workspace(tmp_path / "p.gpkg")
    define = {"start": date(2026, 1, 1), "end": date(2026, 12, 31)}
    contacts(ws, names("u", 40), commune="59001", day=date(2026, 2, 3), status="premier contact")
    contacts(ws, names("u", 4), commune="62001", day=date(2026, 2, 4), status="premier contact")
    from territory.territories import define_territory

    define_territory(ws, "Tout", communes=["59001", "59002", "62001"])
    define_programme(ws, "P", territories=["Tout"], **define)  # type: ignore[arg-type]
    c = compare(ws, "P", settings=Settings())
    zones = c.zones[c.zones["Étape"] == "contact"].set_index("Type de zone")
    # the 4 rural people are hidden, and so is the other part: total − autre would give them
    assert zones.loc["rural", "Affiché"] == f"< {K}"
    assert zones.loc["autre", "Affiché"] == "secret"
    assert pd.isna(zones.loc["autre", "Personnes"])
    assert not pd.isna(_value(c.funnel, "Tout", "contact"))


def test_targets_with_the_date_reached_at_the_current_pace(ws: Workspace) -> None:
    c = compare(ws, "Dest", settings=Settings())
    row = c.targets.set_index("Territoire").loc["Pôle A"]
    assert row["Cible"] == 40 and row["Période"] == "2026"
    assert abs(int(row["Réalisé"]) - 30) <= SLACK
    assert row["Avancement"] == pytest.approx(int(row["Réalisé"]) / 40)
    # the pace of the months from January to the last published one (July)
    expected = reach_date(40, int(row["Réalisé"]), date(2026, 1, 1), date(2026, 12, 31),
                          date(2026, 7, 31))  # fmt: skip
    assert row["Date d'atteinte estimée"] == expected
    assert c.targets.set_index("Territoire").loc["Pôle C", "Date d'atteinte estimée"] == (
        "déjà atteinte"
    )


def test_reach_date() -> None:
    start, end = date(2026, 1, 1), date(2026, 12, 31)
    assert reach_date(120, 30, start, end, date(2026, 3, 31)) == "décembre 2026"
    assert reach_date(120, 20, start, end, date(2026, 3, 31)) == "non atteinte au rythme actuel"
    assert reach_date(120, 0, start, end, date(2026, 3, 31)) == "non atteinte au rythme actuel"
    assert reach_date(120, 10, start, end, date(2025, 3, 31)) == ""
    assert reach_date(10, 10, start, end, date(2026, 3, 31)) == "déjà atteinte"


def test_rates_name_their_denominator_and_hide_small_ones(ws: Workspace) -> None:
    no_population = compare(ws, "Dest", settings=Settings())
    rates = no_population.rates.set_index("Nom du dénominateur")
    assert rates.loc["population par âge (non importée)", "Pour 1 000"].isna().all()
    assert any("population par âge" in n for n in no_population.notes)
    # the communes' legal population is always there, named with its source and vintage
    habitants = rates.loc["population municipale (habitants)"].set_index("Territoire")
    assert habitants.loc["Pôle A", "Dénominateur"] == 20_000
    assert (
        habitants.loc["Pôle A", "Source"] == "test"
        and habitants.loc["Pôle A", "Millésime"] == "2026"
    )
    assert habitants.loc["Pôle A", "Pour 1 000"] == pytest.approx(
        round(1000 * int(habitants.loc["Pôle A", "Numérateur"]) / 20_000, 1)
    )
    ages = pd.DataFrame({"code": ["59001", "59002", "62001"], "pop_1529": [4000.0, 3000.0, 8.0],
                         "pop": [20000.0, 15000.0, 40.0]})  # fmt: skip
    ws.write_table(AGE_TABLE, ages, source="base-ic-evol-struct-pop-2021.csv", vintage="RP 2021")
    c = compare(ws, "Dest", settings=Settings())
    rates = c.rates.set_index(["Territoire", "Indicateur"])
    a = rates.loc[("Pôle A", "Jeunes en contact pour 1 000 jeunes de 15 à 29 ans")]
    assert a["Dénominateur"] == 4000
    assert a["Nom du dénominateur"] == "jeunes de 15 à 29 ans"
    assert "INSEE" in a["Source"] and a["Millésime"] == "RP 2021"
    assert a["Pour 1 000"] == pytest.approx(round(1000 * int(a["Numérateur"]) / 4000, 1))
    small = rates.loc[("Pôle C", "Jeunes en contact pour 1 000 jeunes de 15 à 29 ans")]
    assert small["Dénominateur"] == 8 and pd.isna(small["Pour 1 000"])  # denominator < k
    assert "Population : jeunes de 15 à 29 ans" in set(c.sources["Donnée"])


def test_periods_are_fixed_choices(ws: Workspace) -> None:
    with pytest.raises(ValidationError, match="non proposée"):
        compare(ws, "Dest", period="2026-03", settings=Settings())
    quarter = compare(ws, "Dest", period="2026-T1", settings=Settings())
    assert quarter.period == "2026-T1"
    # in Q1 2026, Pôle A's people had entered a pathway at most
    assert int(_value(quarter.funnel, "Pôle A", "accompagné")) == 0  # type: ignore[call-overload]


def test_trends_only_show_months_of_k_people(ws: Workspace) -> None:
    c = compare(ws, "Dest", settings=Settings())
    months = set(c.trends.loc[c.trends["Territoire"] == "Pôle A", "Mois"])
    assert months == {"2026-02", "2026-03", "2026-05", "2026-07"}
    months_c = set(c.trends.loc[c.trends["Territoire"] == "Pôle C", "Mois"])
    assert months_c == {"2026-02", "2026-04"}


def test_the_tables_are_copies(ws: Workspace) -> None:
    first = compare(ws, "Dest", settings=Settings())
    first.funnel.loc[:, "Affiché"] = "abîmé"
    assert "abîmé" not in set(compare(ws, "Dest", settings=Settings()).funnel["Affiché"])


def test_rounds_planned_done_and_field_hours_per_territory(ws: Workspace) -> None:
    """Visits of the last saved version of each week, placed by commune; done = feedback."""
    from datetime import datetime

    from territory.rounds.feedback import record_feedback
    from territory.rounds.week import PLANS, TIMEZONE, VISITS

    def visit(
        team: str, lon: float, day: int, version: int, week: str, territory: str = ""
    ) -> dict[str, object]:
        start = datetime(2026, 3, day, 14, 0, tzinfo=TIMEZONE)
        return {
            "week": week, "version": version, "territory": territory, "team": team,
            "place": f"p{lon}",
            "place_name": f"Lieu {lon}", "lon": lon, "lat": 50.62,
            "start": start.isoformat(), "end": start.replace(hour=16).isoformat(),
            "locked": False,
        }  # fmt: skip

    visits = pd.DataFrame(
        [
            visit("E1", 3.01, 2, 1, "2026-W10"),  # replaced by version 2: not counted
            visit("E1", 3.02, 3, 2, "2026-W10"),  # Pôle A
            visit("E1", 3.03, 4, 2, "2026-W10"),  # Pôle A
            visit("E2", 3.11, 5, 2, "2026-W10"),  # Pôle C
            # the same week planned on a territory: its own versions, its last one counted
            visit("E3", 3.11, 6, 1, "2026-W10", "Sud"),  # Pôle C
        ]
    )
    ws.write_table(VISITS, visits, source="planificateur", vintage="2026-W10")
    plans = pd.DataFrame(
        {"week": ["2026-W10"] * 3, "version": [1, 2, 1], "territory": ["", "", "Sud"]}
    )
    ws.write_table(PLANS, plans, source="planificateur", vintage="2026-W10")
    done = visits.iloc[1].copy()
    done["start"] = datetime.fromisoformat(str(done["start"]))
    settings = Settings(secret_path=ws.path.parent / "secret.key")
    after = datetime(2026, 3, 10, tzinfo=TIMEZONE)
    record_feedback(ws, "2026-W10", done, {"premier contact": 2}, settings=settings, now=after)
    rounds = compare(ws, "Dest", settings=Settings()).rounds.set_index("Territoire")
    assert rounds.loc["Pôle A"].tolist() == [2, 1, 2.0]
    assert rounds.loc["Pôle C"].tolist() == [2, 0, 0.0]
