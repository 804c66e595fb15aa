"""The French calendar: public holidays (Alsace-Moselle too) and school holidays by zone."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from pathlib import Path

import pytest

from territory.calendar import (
    ACADEMIES,
    SCHOOL_HOLIDAYS,
    ZONE_OF_ACADEMY,
    departement_of,
    easter,
    public_holidays,
    school_holiday,
    school_zone,
    week_calendar,
)


def test_easter_and_the_movable_holidays() -> None:
    known = {2025: date(2025, 4, 20), 2026: date(2026, 4, 5), 2027: date(2027, 3, 28)}
    assert {y: easter(y) for y in known} == known
    days = public_holidays(2026)
    assert len(days) == 11
    assert days[date(2026, 4, 6)] == "lundi de Pâques"
    assert (
        days[date(2026, 5, 14)] == "Ascension" and days[date(2026, 5, 25)] == "lundi de Pentecôte"
    )
    alsace = public_holidays(2026, "68")
    assert len(alsace) == 13 and alsace[date(2026, 4, 3)] == "Vendredi saint"
    assert alsace[date(2026, 12, 26)] == "Saint-Étienne"


def test_every_mainland_departement_has_one_academie_and_zone() -> None:
    deps = [d for ds in ACADEMIES.values() for d in ds]
    assert len(deps) == len(set(deps)) == 96
    assert set(ZONE_OF_ACADEMY) == set(ACADEMIES) - {"Corse"}
    # the départements of the real extracts, Allier, Paris, the demo
    zones = {d: school_zone(d) for d in ("14", "49", "59", "62", "67", "68", "03", "75", "00")}
    assert zones == {
        **dict.fromkeys(("14", "49", "59", "62", "67", "68", "00"), "B"),
        "03": "A",
        "75": "C",
    }
    assert school_zone("2B") is None and school_zone("974") is None
    assert departement_of("14118") == "14" and departement_of("97411") == "974"


@pytest.mark.parametrize("zone", ["A", "B", "C"])
def test_school_holidays_are_consistent(zone: str) -> None:
    periods = sorted(
        (first, resume) for _, zones, first, resume in SCHOOL_HOLIDAYS if zone in zones
    )
    assert len(periods) == 12  # Toussaint, Noël, hiver, printemps, Ascension, été × 2
    for (first, resume), (following, _) in itertools.pairwise(periods):
        assert first < resume <= following
    for first, resume in periods:  # classes resume on a weekday; holidays start at a weekend
        assert resume.weekday() < 5 and (
            first.weekday() >= 5 or first in public_holidays(first.year)
        )
    assert school_holiday(date(2026, 12, 25), zone) == "vacances de Noël"
    assert school_holiday(date(2027, 1, 4), zone) is None  # classes resume


def test_winter_holidays_differ_by_zone() -> None:
    day = date(2026, 2, 10)
    assert [school_holiday(day, z) for z in "ABC"] == ["vacances d'hiver", None, None]
    week = week_calendar(date(2026, 2, 16), departement="14")
    assert week.zone == "B" and week.notes() == [
        "semaine de vacances scolaires (zone B) : vacances d'hiver"
    ]
    assert week_calendar(date(2026, 2, 16), departement="03").notes() == [
        "semaine de vacances scolaires (zone A) : vacances d'hiver"
    ]
    assert week_calendar(date(2026, 2, 16), departement="75").notes() == [  # starts Saturday
        "vacances scolaires (zone C) : vacances d'hiver, samedi 21/02, dimanche 22/02"
    ]
    assert week_calendar(date(2026, 2, 9), departement="75").notes() == []


def test_a_week_says_its_public_holidays_and_what_it_does_not_know() -> None:
    week = week_calendar(date(2026, 11, 12), departement="67")
    assert week.monday == date(2026, 11, 9) and week.holiday_weekdays() == {2: "Armistice"}
    assert week.notes() == ["jour férié : mercredi 11/11 (Armistice)"]
    later = week_calendar(date(2027, 11, 8), departement="67")
    assert later.notes()[0].startswith("vacances scolaires inconnues pour cette semaine")
    assert "jour férié : jeudi 11/11 (Armistice)" in later.notes()
    assert week_calendar(date(2026, 12, 21), departement="2A").notes()[0] == (
        "zone de vacances scolaires inconnue pour ce département"
    )
    christmas = week_calendar(date(2026, 12, 21), departement="67")
    assert set(christmas.public) == {date(2026, 12, 25), date(2026, 12, 26)}
    assert all(
        d in christmas.school for d in (date(2026, 12, 21) + timedelta(days=i) for i in range(7))
    )


# ------------------------------------------------------- the Ministry's data set, cached
def _record(name: str, zone: str, first: date, resume: date) -> dict[str, str]:
    """A row of ``fr-en-calendrier-scolaire`` (UTC moments: midnight in Paris)."""

    def moment(day: date) -> str:
        from datetime import datetime
        from zoneinfo import ZoneInfo

        local = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo("Europe/Paris"))
        return local.astimezone(ZoneInfo("UTC")).isoformat()

    return {
        "description": name[:1].upper() + name[1:],
        "population": "-",
        "start_date": moment(first),
        "end_date": moment(resume),
        "location": "Normandie",
        "zones": f"Zone {zone}",
        "annee_scolaire": "2026-2027",
    }


def test_the_shipped_table_is_checked_against_the_ministry_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from territory import Settings
    from territory.cli import main
    from territory.io._http import cache_path
    from territory.io.school_calendar import API_URL, check_school_calendar

    settings = Settings(secret_path=tmp_path / "s.key", cache_dir=tmp_path / "cache")
    records = [
        _record(name, zone, first, resume)
        for name, zones, first, resume in SCHOOL_HOLIDAYS
        for zone in zones
    ]
    records.append({**records[0], "population": "Enseignants"})  # not the pupils': ignored
    records.append({**records[0], "zones": "Corse"})  # not a mainland zone: ignored
    path = cache_path(API_URL, settings=settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records), encoding="utf-8")
    official, diffs = check_school_calendar(settings=settings)
    assert len(official) == sum(len(z) for _, z, _, _ in SCHOOL_HOLIDAYS) and diffs == []
    # the Ministry moves zone C's winter holidays by a week: both sides are said
    moved = [
        _record("vacances d'hiver", "C", date(2027, 2, 13), date(2027, 3, 1))
        if r["zones"] == "Zone C" and r["start_date"].startswith("2027-02")
        else r
        for r in records
    ]
    path.write_text(json.dumps(moved), encoding="utf-8")
    _, diffs = check_school_calendar(settings=settings)
    assert diffs == [
        "officiel, absent du tableau : vacances d'hiver zone C, du 13/02/2027 au 01/03/2027",
        (
            "dans le tableau, absent des données officielles : vacances d'hiver zone C, "
            "du 06/02/2027 au 22/02/2027"
        ),
    ]
    monkeypatch.setenv("TERRITORY_CACHE_DIR", str(tmp_path / "cache"))
    assert main(["calendrier"]) == 1
    assert "vacances d'hiver zone C, du 13/02/2027" in capsys.readouterr().out
    # offline and nothing cached: said, and the shipped calendar stays in use
    monkeypatch.setenv("TERRITORY_CACHE_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # no network, whatever the machine
    assert main(["calendrier"]) == 1
    err = capsys.readouterr().err
    assert "calendrier officiel injoignable" in err and "le calendrier livré reste utilisé" in err
