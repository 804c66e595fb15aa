"""Field sheets print on A4 with the legs between stops (issue #19, item 9).

The PDF is read back with pypdf: page size, one page per team and day, the running header
on every page of a long day, the legs consistent with the visits' times and with the
rounds the solver planned.
"""

from __future__ import annotations

import dataclasses
import io
import re
import shutil
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader

from territory import Settings, ValidationError
from territory.cli import main
from territory.rounds.outputs import day_label
from territory.rounds.sheets import round_legs, sheet_html, sheet_pdf
from territory.rounds.week import WeekPlan, move_visit, plan_week, save_edited, save_plan
from territory.store import Workspace

WEEK = "2026-W49"
A4 = (595.28, 841.89)  # points


@pytest.fixture(scope="module")
def planned(demo_workspace: Path, tmp_path_factory: pytest.TempPathFactory, settings: Settings):
    """The demo week optimised and saved: workspace, solver plan, saved plan."""
    path = tmp_path_factory.mktemp("sheets") / "demo.gpkg"
    shutil.copyfile(demo_workspace, path)
    ws = Workspace.open(path)
    plan, places = plan_week(ws, WEEK, settings=settings, time_limit=3)
    return ws, plan, save_plan(ws, WEEK, plan, places, change="optimisation", author="test")


@pytest.fixture(scope="module")
def pages(planned, settings: Settings) -> list[str]:
    ws, _, saved = planned
    reader = PdfReader(io.BytesIO(sheet_pdf(saved, ws, settings=settings)))
    for page in reader.pages:
        assert abs(float(page.mediabox.width) - A4[0]) <= 1
        assert abs(float(page.mediabox.height) - A4[1]) <= 1
    return [page.extract_text() for page in reader.pages]


def _team_days(plan: WeekPlan) -> list[tuple[str, str]]:
    visits = plan.visits.sort_values(["team", "start"])
    return list(dict.fromkeys(zip(visits["team"], visits["start"].map(day_label), strict=True)))


def _duration(minutes: int) -> str:
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d}"


def _leg(metres: float, minutes: int) -> str:
    if metres < 950:
        distance = f"{round(metres / 50) * 50:.0f} m"
    elif metres < 9_950:
        distance = f"{round(metres / 100) / 10:.1f}".replace(".", ",").removesuffix(",0") + " km"
    else:
        distance = f"{round(metres / 1000)} km"
    return f"{distance} · {_duration(minutes)}"


def test_demo_week_prints_one_a4_page_per_team_day_with_its_header(planned, pages) -> None:
    ws, _, saved = planned
    days = _team_days(saved)
    sizes = saved.visits.groupby([saved.visits["team"], saved.visits["start"].map(day_label)])
    sizes = sizes.size()
    firsts = [n for n, text in enumerate(pages) if "Déplacement" in text]  # the day's summary
    assert len(days) >= 10 and len(firsts) == len(days) and firsts[0] == 0
    for k, (team, day) in enumerate(days):
        span = range(firsts[k], firsts[k + 1] if k + 1 < len(firsts) else len(pages))
        if sizes[(team, day)] <= 8:  # up to 8 visits (the demo's longest days) fit a page
            assert len(span) == 1, (team, day)
        for n in span:
            assert f"{team} — {day}" in pages[n]
    assert len(pages) == len(days) or sizes.max() > 8
    for n, text in enumerate(pages, start=1):
        assert f"{ws.name} · semaine {WEEK} · version {saved.version}" in text
        assert f"page {n} / {len(pages)}" in text
    for n in firsts:
        assert "Départ de la base" in pages[n]
        assert "Trajets estimés : distance à vol d'oiseau × 1,3" in "\n".join(pages[n : n + 2])


def test_legs_are_the_solver_s_and_fit_the_visit_times(planned, pages, settings) -> None:
    ws, plan, saved = planned
    legs = round_legs(saved, ws, settings=settings)
    visits = saved.visits.join(legs).sort_values(["team", "start"])
    assert visits["leg_min"].notna().all()
    # arrival = previous end (or the departure from the base) + travel ≤ start
    for _, day in visits.groupby([visits["team"], visits["start"].dt.date]):
        previous = None
        for row in day.itertuples():
            origin = row.depart_at if pd.notna(row.depart_at) else previous
            assert row.arrival == origin + timedelta(minutes=row.leg_min)
            assert row.arrival + timedelta(minutes=row.wait_min) == row.start >= row.arrival
            previous = row.end
    # the rounds are the solver's: same departure, return and minutes on the move
    rounds = {(r.team, r.day, r.depart, r.back, r.travel) for r in plan.rounds if r.places}
    minute = lambda t: t.hour * 60 + t.minute  # noqa: E731
    sheet_rounds = {
        (
            team,
            day.iloc[0].start.weekday(),
            minute(day["depart_at"].dropna().iloc[0]),
            minute(day["back_at"].dropna().iloc[0]),
            int(day["leg_min"].sum() + day["back_min"].dropna().sum()),
        )
        for (team, _, _), day in visits.groupby(
            [visits["team"], visits["start"].dt.date, visits["round"]]
        )
    }
    assert sheet_rounds == rounds
    assert any(r[3] - r[2] > 0 for r in rounds)
    # every leg is printed on its team-day's page, with the arrival time
    days = _team_days(saved)
    for row in visits.itertuples():
        text = pages[days.index((row.team, day_label(row.start)))]
        assert _leg(row.leg_m, row.leg_min) in text
        assert f"{row.start:%H:%M}–{row.end:%H:%M}" in text and f"{row.arrival:%H:%M}" in text
        if pd.notna(row.back_min):
            assert f"arrivée {row.back_at:%H:%M}" in text
            assert _leg(row.back_m, row.back_min) in text
    for row in visits[visits["wait_min"] > 0].itertuples():  # free time before a visit
        text = pages[days.index((row.team, day_label(row.start)))]
        assert _duration(row.wait_min) in text


def test_free_time_before_a_visit_is_printed(planned, settings: Settings, tmp_path: Path) -> None:
    """A visit moved 20 minutes later, last of its round: the team waits there 20 minutes."""
    ws, _, saved = planned
    copy = tmp_path / "demo.gpkg"
    shutil.copyfile(ws.path, copy)
    ws = Workspace.open(copy)
    visits = saved.visits.sort_values("start")
    last = visits.groupby([visits["team"], visits["start"].dt.date]).tail(1).index
    for index in last:  # the first move that stays in the team's and the place's hours
        later = visits.at[index, "start"] + timedelta(minutes=20)
        try:
            moved = save_edited(
                ws,
                WEEK,
                move_visit(saved.visits, index, f"{later:%H:%M}"),
                change="déplacée",
                base_version=saved.version,
            )
        except ValidationError:
            continue
        break
    else:
        pytest.fail("no visit of the demo week can start 20 minutes later")
    legs = round_legs(moved, ws, settings=settings)
    row = moved.visits.join(legs).loc[index]
    assert row["wait_min"] >= 20
    html = sheet_html(moved, ws, settings=settings)
    assert _duration(int(row["wait_min"])) in html


def test_a_long_day_flows_on_pages_with_the_header_and_table_head(planned, settings) -> None:
    ws, _, saved = planned
    town = saved.visits["team"].isin(["Équipe centre", "Équipe quartiers"])  # walking distance
    rows = saved.visits[town].head(16).reset_index(drop=True).assign(team="Équipe centre")
    assert len(rows) == 16
    monday = rows["start"].iloc[0].replace(day=30, month=11, hour=0, minute=0)
    starts = [monday + timedelta(hours=9, minutes=40 + 25 * k) for k in range(7)]
    starts += [monday + timedelta(hours=14, minutes=5 + 25 * k) for k in range(9)]
    long_day = rows.assign(start=starts, end=[s + timedelta(minutes=15) for s in starts])
    plan = dataclasses.replace(saved, visits=long_day)
    reader = PdfReader(io.BytesIO(sheet_pdf(plan, ws, settings=settings)))
    texts = [page.extract_text() for page in reader.pages]
    assert len(texts) >= 2
    for n, text in enumerate(texts, start=1):
        assert "Équipe centre — lundi 30/11" in text  # the running header
        assert f"semaine {WEEK}" in text and f"page {n} / {len(texts)}" in text
        assert "Arrivée" in text and "Trajet depuis l'étape" in text  # the table head
    assert "Départ de la base" in texts[0] and "Retour à la base" in texts[-1]
    # two rounds (morning, afternoon), each from the base and back
    assert len(re.findall(r"\bdépart \d\d:\d\d", "\n".join(texts))) == 2
    assert len(re.findall(r"\barrivée \d\d:\d\d", "\n".join(texts))) == 2
    # no visit row cut across two pages: its time, name and nearby partners stay together
    for row in plan.visits.itertuples():
        where = [t for t in texts if f"{row.start:%H:%M}–{row.end:%H:%M}" in t]
        assert len(where) == 1 and row.place_name in where[0]
    # hand-made times that leave too little travel time are flagged
    legs = round_legs(plan, ws, settings=settings)
    late = legs[legs["wait_min"] < 0]
    assert not late.empty
    for index, row in late.iterrows():
        start = plan.visits.at[index, "start"]
        page = next(t for t in texts if f"{start:%H:%M}–" in t)
        assert f"retard {_duration(-row['wait_min'])}" in page


def test_a_team_no_longer_in_the_teams_table_prints_without_legs(planned, settings) -> None:
    ws, _, saved = planned
    gone = saved.visits.assign(team=saved.visits["team"].replace("Équipe rurale", "Équipe X"))
    plan = dataclasses.replace(saved, visits=gone)
    legs = round_legs(plan, ws, settings=settings)
    assert legs.loc[gone["team"] == "Équipe X", "leg_min"].isna().all()
    assert legs.loc[gone["team"] != "Équipe X", "leg_min"].notna().all()
    html = sheet_html(plan, ws, settings=settings)
    days = [d for d in _team_days(plan) if d[0] == "Équipe X"]
    assert html.count("Équipe absente du tableau des équipes : trajets non calculés") == len(days)
    assert "@page" in html and "size: A4" in html
    # a stop without partner within 1 km lists none (no rows made up from the distances)
    assert not re.search(r"\bnan\b", html)
    assert "http" not in html.replace("http://www.w3.org/2000/svg", "")  # self-contained


def test_cli_exports_the_pdf_and_the_html(planned, tmp_path: Path, settings, monkeypatch) -> None:
    ws, _, saved = planned
    monkeypatch.setenv("TERRITORY_SECRET_PATH", str(settings.secret_path))
    out = tmp_path / "feuilles.pdf"
    argv = ["plan", "export", "--workspace", str(ws.path), "--week", WEEK, "--out", str(out)]
    assert main(argv) == 0
    reader = PdfReader(out)
    assert len(reader.pages) == len(_team_days(saved))
    assert main([*argv[:-1], str(tmp_path / "feuilles.html")]) == 0
    html = (tmp_path / "feuilles.html").read_text(encoding="utf-8")
    assert html.count("<section>") == len(reader.pages)
    assert sheet_html(saved, ws, settings=settings) == html  # one source for both files


def test_an_empty_week_prints_one_page_saying_so(planned) -> None:
    ws, _, saved = planned
    empty = dataclasses.replace(saved, visits=saved.visits.iloc[:0])
    assert round_legs(empty, ws).empty
    reader = PdfReader(io.BytesIO(sheet_pdf(empty, ws)))
    assert len(reader.pages) == 1 and "Aucune visite." in reader.pages[0].extract_text()


def test_a_team_has_one_colour_on_the_week_map_the_day_map_the_legend_and_its_sheet(
    planned, settings: Settings
) -> None:
    """Issue #21: the day's map shows fewer teams than the week's; the colours stay."""
    from territory.map import MapLayers, legend_html
    from territory.map.build import territory_map
    from territory.rounds.outputs import date_of, route_layer, team_colours
    from territory.vocab import team_colour

    ws, _, saved = planned
    colours = team_colours(saved, ws)
    teams = set(saved.visits["team"].astype(str))
    assert len(set(colours.values())) == len(colours) >= 2  # distinct while there are few
    assert all(colours[t] == team_colour(t, colours) for t in teams)
    week = route_layer(saved, ws)
    days = saved.visits.groupby(saved.visits["start"].map(date_of))["team"].nunique()
    day = days.idxmin()  # a day with the fewest teams at work
    one_day = route_layer(saved, ws, day=day)
    assert set(one_day["team"]) < teams or len(teams) == 1
    for layer in (week, one_day):
        assert (layer["colour"] == layer["team"].astype(str).map(colours)).all()
        html = territory_map(MapLayers(routes=layer)).get_root().render()
        drawn = set(re.findall(r'"team":"([^"]+)",[^{}]*"colour":"(#[0-9a-f]{6})"', html))
        assert drawn == {(t, colours[t]) for t in set(layer["team"])}
        legend = legend_html(MapLayers(routes=layer))
        for team in set(layer["team"]):
            assert colours[team] in legend
    sheet = sheet_html(saved, ws, settings=settings)
    for section in sheet.split("<section>")[1:]:
        team = next(t for t in teams if f"{t} — " in section)
        assert f"background: {colours[team]}" in section
        assert f"fill='{colours[team]}'" in section
        assert not {c for c in colours.values() if c != colours[team]} & set(
            re.findall(r"#[0-9a-f]{6}", section)
        )
