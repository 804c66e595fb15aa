"""Weekly plans in the workspace: demo teams and places, versions, locks, .ics and CSV."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date, datetime, timedelta
from html import escape as html_escape
from pathlib import Path

import pandas as pd
import pytest
from icalendar import Calendar

from territory import Settings, ValidationError
from territory.hours import windows_from_opening_hours
from territory.rounds.outputs import write_csv, write_ics
from territory.rounds.sheets import write_sheet
from territory.rounds.value import commune_ranking, communes_with_qpv, coverage_zones
from territory.rounds.week import (
    load_plan,
    plan_history,
    plan_week,
    read_teams,
    save_edited,
    save_plan,
    week_monday,
)
from territory.store import Workspace

WEEK = "2026-W49"


@pytest.fixture(scope="module")
def planned(demo_workspace: Path, tmp_path_factory: pytest.TempPathFactory, settings: Settings):
    path = tmp_path_factory.mktemp("plans") / "demo.gpkg"
    shutil.copyfile(demo_workspace, path)
    ws = Workspace.open(path)
    plan, places = plan_week(ws, WEEK, settings=settings, time_limit=3)
    return ws, save_plan(ws, WEEK, plan, places, change="optimisation", author="test"), places


def test_week_parsing() -> None:
    assert week_monday("2026-W49") == date(2026, 11, 30)
    with pytest.raises(ValidationError, match="AAAA-Wnn"):
        week_monday("49")


def test_demo_plan_respects_team_and_place_windows(planned) -> None:
    ws, saved, places = planned
    visits = saved.visits
    assert len(visits) >= 10 and set(visits["team"]) == set(ws.read_table("teams")["nom"])
    teams = ws.read_table("teams").set_index("nom")
    hours = places.set_index(places["id"].astype(str))["horaires"].fillna("")
    monday = week_monday(WEEK)
    for v in visits.itertuples(index=False):
        day, start, end = v.start.weekday(), v.start.hour * 60 + v.start.minute, None
        end = start + int((v.end - v.start).total_seconds() // 60)
        team_windows = windows_from_opening_hours(teams.at[v.team, "disponibilites"], week=monday)
        assert any(a <= start and end <= b for a, b in team_windows.get(day, ()))
        place_windows = windows_from_opening_hours(hours[v.place], week=monday)
        if place_windows is not None:
            assert any(a <= start and end <= b for a, b in place_windows.get(day, ()))
    # never the same place twice a day
    assert (
        not visits.assign(day=visits["start"].map(datetime.date)).duplicated(["place", "day"]).any()
    )


def test_no_visit_on_a_public_holiday_unless_the_team_says_ph(
    demo_workspace: Path, tmp_path: Path, settings: Settings
) -> None:
    path = tmp_path / "ferie.gpkg"
    shutil.copyfile(demo_workspace, path)
    ws = Workspace.open(path)
    week = "2026-W46"  # Wednesday 11 November
    plan, _ = plan_week(ws, week, settings=settings, time_limit=2)
    days = {v.day for v in plan.visits}
    assert days and 2 not in days
    assert any(n.startswith("jour(s) férié(s) : mercredi 11/11 (Armistice)") for n in plan.notes)
    teams = ws.read_table("teams")
    first = teams["nom"].iloc[0]
    teams.loc[teams["nom"] == first, "disponibilites"] += "; PH 09:00-18:00"
    ws.write_table("teams", teams, source="test", vintage="", licence="")
    plan, _ = plan_week(ws, week, settings=settings, time_limit=2)
    on_holiday = {v.team for v in plan.visits if v.day == 2}
    assert on_holiday <= {first} and on_holiday, on_holiday


def test_coverage_rules_cover_qpv_communes_every_week(planned) -> None:
    ws, saved, _ = planned
    required = coverage_zones(ws, week_monday(WEEK))
    qpv_communes = {
        c.strip() for text in ws.read_table("qpv")["communes"] for c in str(text).split(",")
    }
    assert qpv_communes <= set(required)
    covered = set(saved.visits["zone"])
    missed = set(required) - covered
    assert not (qpv_communes & missed)
    assert all(z in " ".join(saved.notes) for z in missed)  # whatever is missed is said


def test_every_visit_says_why_and_the_reasons_are_stored(planned, settings: Settings) -> None:
    ws, saved, _ = planned
    weekly = communes_with_qpv(ws)
    ranking = commune_ranking(ws, settings=settings)
    assert (saved.visits["pourquoi"].str.len() > 0).all()
    for visit in saved.visits.itertuples():
        rank = int(ranking.at[visit.zone, "rang"])
        assert f"commune n° {rank} sur {len(ranking)}" in visit.pourquoi
        assert ("chaque semaine" in visit.pourquoi) == (visit.zone in weekly)
    assert saved.visits["pourquoi"].str.contains("créneau").any()  # the slot's part
    loaded = load_plan(ws, WEEK, version=saved.version)
    assert loaded.visits["pourquoi"].tolist() == saved.visits["pourquoi"].tolist()


def test_locked_visits_stay_after_reoptimising(planned, settings: Settings) -> None:
    ws, saved, _ = planned
    visits = saved.visits.copy()
    visits.loc[visits.index[:2], "locked"] = True
    edited = save_edited(
        ws, WEEK, visits.iloc[:5], change="2 visites verrouillées", base_version=saved.version
    )
    assert edited.version == saved.version + 1
    plan, places = plan_week(ws, WEEK, settings=settings, time_limit=3)
    again = save_plan(ws, WEEK, plan, places, change="ré-optimisation")
    kept = again.visits[again.visits["locked"]]
    key = ["team", "place", "start", "end"]
    assert kept[key].to_dict("records") == visits.iloc[:2][key].to_dict("records")
    history = plan_history(ws, WEEK)
    assert history["version"].tolist()[-3:] == [saved.version, edited.version, again.version]
    assert history["change"].iloc[-1] == "ré-optimisation"
    first = load_plan(ws, WEEK, version=saved.version).visits  # every version stays readable
    assert first[key].to_dict("records") == saved.visits[key].to_dict("records")


def test_ics_opens_in_a_calendar_parser(planned, tmp_path: Path) -> None:
    _, saved, _ = planned
    written = write_ics(saved, tmp_path / "tournees.ics")
    assert len(written) == saved.visits["team"].nunique()
    assert tmp_path / "tournees-equipe-centre.ics" in written  # « Équipe centre », accent folded
    events = 0
    for path in written:
        calendar = Calendar.from_ical(path.read_bytes())
        for event in calendar.walk("VEVENT"):
            events += 1
            start = event.decoded("dtstart")
            assert start.tzinfo is not None and start.isocalendar().week == 49
            assert str(event["summary"]).startswith("Aller-vers : ")
    assert events == len(saved.visits)


def test_csv_is_french_and_complete(planned, tmp_path: Path) -> None:
    _, saved, _ = planned
    out = write_csv(saved, tmp_path / "plan.csv")
    table = pd.read_csv(out, sep=";", decimal=",", encoding="utf-8-sig")
    assert list(table.columns[:5]) == ["Équipe", "Jour", "Début", "Fin", "Lieu"]
    assert len(table) == len(saved.visits)
    assert table["Pourquoi"].tolist() == saved.visits["pourquoi"].tolist()
    assert table["Latitude"].dtype == float and table["Latitude"].between(41, 52).all()
    assert set(table["Verrouillée"]) <= {"oui", "non"}
    text = pd.read_csv(out, sep=";", encoding="utf-8-sig", dtype=str)
    for name in ("Longitude", "Latitude"):
        decimals = text[name].str.extract(r",(\d+)$")[0].str.len()
        assert "." not in "".join(text[name]) and decimals.max() <= 6


def test_teams_file_problems_are_listed_at_once(tmp_path: Path) -> None:
    path = tmp_path / "equipes.csv"
    path.write_text(
        "nom;mode;base_lon;base_lat;disponibilites\n"
        "A;trottinette;2,7;46,4;Mo-Fr 09:00-17:00\n"
        "B;marche;120;46,4;n'importe quand\n",
        encoding="utf-8",
    )
    with pytest.raises(ValidationError) as error:
        read_teams(path)
    text = str(error.value)
    assert "trottinette" in text and "hors France" in text and "illisibles" in text


def test_infeasible_week_gives_notes_not_an_exception(
    demo_workspace: Path, tmp_path: Path, settings: Settings
) -> None:
    """One walking team, one hour a week: far more to cover than time allows."""
    path = tmp_path / "demo.gpkg"
    shutil.copyfile(demo_workspace, path)
    teams = tmp_path / "equipes.json"
    teams.write_text(
        json.dumps(
            [
                {
                    "nom": "Seule",
                    "mode": "marche",
                    "base_lon": 2.76,
                    "base_lat": 46.43,
                    "disponibilites": "Mo 10:00-11:00",
                }
            ]
        )
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "territory.cli",
            "plan",
            "--workspace",
            str(path),
            "--week",
            WEEK,
            "--teams",
            str(teams),
            "--time-limit",
            "2",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TERRITORY_SECRET_PATH": str(settings.secret_path)},
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["notes"] and any("couv" in n or "zone" in n for n in answer["notes"])
    for visit in answer["visits"]:
        start, end = datetime.fromisoformat(visit["start"]), datetime.fromisoformat(visit["end"])
        assert start.weekday() == 0 and start.hour >= 10 and end - start <= timedelta(hours=1)
        assert visit["pourquoi"]


def test_cli_plan_lists_the_visits_in_french(
    demo_workspace: Path, tmp_path: Path, settings: Settings, capsys, monkeypatch
) -> None:
    from territory.cli import main

    path = tmp_path / "demo.gpkg"
    shutil.copyfile(demo_workspace, path)
    monkeypatch.setenv("TERRITORY_SECRET_PATH", str(settings.secret_path))
    argv = ["plan", "--workspace", str(path), "--week", WEEK, "--time-limit", "1"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Semaine {WEEK}, version 1 :")
    assert "lundi 30/11" in out and "Mon " not in out


def test_field_sheet_prints_each_round_with_partners_nearby(planned, tmp_path: Path) -> None:
    ws, saved, _ = planned
    html = write_sheet(saved, ws, tmp_path / "feuille.html").read_text(encoding="utf-8")
    rounds = saved.visits.groupby([saved.visits["team"], saved.visits["start"].map(datetime.date)])
    assert html.count("<section>") == rounds.ngroups and html.count("<svg") == rounds.ngroups
    for visit in saved.visits.itertuples():
        assert f"{visit.start:%H:%M}–{visit.end:%H:%M}" in html
        assert f"Pourquoi : {html_escape(visit.pourquoi)}" in html
    assert "Mission locale" in html and "fermé les jours fériés" in html  # hours in French
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in html


def test_feedback_feeds_the_contacts_through_the_same_privacy_rules(
    planned, settings: Settings
) -> None:
    from territory.rounds.feedback import record_feedback
    from territory.views import density_layer

    ws, saved, _ = planned
    visit = saved.visits.iloc[0]
    before = ws.layers()["contacts"].count
    assert (
        record_feedback(
            ws, WEEK, visit, {"hors radars": 3, "premier contact": 2}, settings=settings
        )
        == 5
    )
    assert ws.layers()["contacts"].count == before + 5
    # recording the same visit again replaces its numbers
    assert record_feedback(ws, WEEK, visit, {"hors radars": 4}, settings=settings) == 4
    assert ws.layers()["contacts"].count == before + 4
    rows = ws.query(
        "SELECT * FROM contacts WHERE date = ? AND hour = ? AND personne = ''",
        (visit["start"].date().isoformat(), visit["start"].hour),
    )
    assert set(rows["statut"]) >= {"hors radars"} and rows["cell"].str.startswith("CRS3035").all()
    counts = density_layer(ws, settings=settings)["count"].dropna()
    assert ((counts == 0) | (counts >= settings.k)).all()
    with pytest.raises(ValidationError, match="statut inconnu"):
        record_feedback(ws, WEEK, visit, {"vu Kevin": 1}, settings=settings)


def test_feedback_recorded_before_the_one_fingerprint_scheme_is_replaced_too(
    planned, settings: Settings
) -> None:
    """Rows written with the earlier HMAC fingerprints are found when a visit is recorded again."""
    from territory.privacy.pseudonyms import legacy_feedback_fingerprints, load_secret
    from territory.privacy.raw import STORED_COLUMNS, append_contacts
    from territory.rounds.feedback import record_feedback

    ws, saved, _ = planned
    visit = saved.visits.iloc[1]
    before = ws.layers()["contacts"].count
    key = f"{WEEK}|{visit['team']}|{visit['place']}|{visit['start'].isoformat()}"
    old = legacy_feedback_fingerprints(load_secret(settings), key, "hors radars", 3)
    recorded_earlier = pd.DataFrame(
        [
            {
                "cell": "CRS3035RES200mN2000000E3000000",
                "commune": "00001",
                "date": visit["start"].date().isoformat(),
                "hour": int(visit["start"].hour),
                "statut": "hors radars",
                "tranche_age": "non renseigné",
                "sexe": "non renseigné",
                "partenaire": "",
                "personne": "",
                "fingerprint": fingerprint,
            }
            for fingerprint in old
        ],
        columns=STORED_COLUMNS,
    )
    append_contacts(ws, recorded_earlier, source="retours", vintage=WEEK, licence="équipe")
    assert ws.layers()["contacts"].count == before + 3
    assert record_feedback(ws, WEEK, visit, {"hors radars": 2}, settings=settings) == 2
    assert ws.layers()["contacts"].count == before + 2


def test_feedback_is_a_batch_and_a_correction_replaces_it(planned, settings: Settings) -> None:
    """Each recording is a batch; recording the visit again replaces it, history kept."""
    from territory import batches
    from territory.ingest import undo_batch
    from territory.rounds.feedback import record_feedback

    ws, saved, _ = planned
    visit = saved.visits.iloc[2]
    before = ws.layers()["contacts"].count
    record_feedback(ws, WEEK, visit, {"hors radars": 3}, settings=settings, author="équipe A")
    first = batches.list_batches(ws)[-1]
    prints = ws.query("SELECT fingerprint FROM contacts WHERE lot = ?", (first.id,))["fingerprint"]
    assert len(prints) == 3 and first.kind == "feedback" and first.author == "équipe A"
    assert first.counts == {"contacts": 3, "statuts": {"hors radars": 3}}
    assert visit["place_name"] in first.file and WEEK in first.file

    record_feedback(ws, WEEK, visit, {"premier contact": 2}, settings=settings)
    second = batches.list_batches(ws)[-1]
    first = batches.get_batch(ws, first.id)
    assert (first.state, first.undone_by) == ("replaced", second.id)
    assert batches.state_text(first).startswith(f"remplacé par le lot {second.id} le ")
    assert ws.layers()["contacts"].count == before + 2
    assert not any(f.encode() in ws.path.read_bytes() for f in prints)

    undo_batch(ws, second.id)
    assert ws.layers()["contacts"].count == before
    assert batches.get_batch(ws, second.id).state == "undone"
    with pytest.raises(ValidationError, match="déjà remplacé"):
        undo_batch(ws, first.id)


def test_places_file_is_imported_with_a_report(
    demo_workspace: Path, tmp_path: Path, settings: Settings
) -> None:
    from territory.ingest import import_file

    path = tmp_path / "demo.gpkg"
    shutil.copyfile(demo_workspace, path)
    ws = Workspace.open(path)
    before = ws.layers()["places"].count
    places = tmp_path / "lieux.csv"
    places.write_text(
        "Nom;Type;Horaires;Durée;Longitude;Latitude\n"
        "Square des Tilleuls;parc;Mo-Sa 15:00-19:00;60;2,760263;46,426155\n"
        "Bus info;camion;;;2,76;46,42\n"
        "Sans lieu;parc;;;;\n"
        "Vieux-Port;marché;;;5,37;43,29\n"
        "Skate park;city stade;après l'école;;2,7605;46,4262\n",
        encoding="cp1252",
    )
    report = import_file(ws, "places", places, settings=settings)
    assert (report.read, report.accepted, report.refused) == (5, 2, 3)
    reasons = " ".join(r.reason for r in report.refusals)
    assert "camion" in reasons and "position" in reasons and "aucune commune" in reasons
    assert any("après l'école" in fix for fix in report.fixes)
    stored = ws.read_layer("places")
    assert len(stored) == before + 2
    square = stored.set_index("nom").loc["Square des Tilleuls"]
    assert square["zone"] == "00001" and square["duree"] == 60 and square["type"] == "parc"
