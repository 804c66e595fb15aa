"""AppTest of the "Tournées" page: optimise a week, the grid, lock and delete, exports."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from conftest import map_text
from streamlit.testing.v1 import AppTest

from territory.map.encode import _script_safe
from territory.rounds.week import (
    candidate_places,
    check_visit_times,
    load_plan,
    move_visit,
    plan_history,
    remove_places,
    save_teams,
)
from territory.store import Workspace
from territory.ui.state import LAZY_PANELS, Keys

APP = str(Path(__file__).resolve().parents[2] / "app.py")
MONDAY = date(2026, 11, 30)  # ISO week 2026-W49


@pytest.fixture(scope="module")
def page(demo_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[AppTest, Path]:
    path = tmp_path_factory.mktemp("tournees") / "demo.gpkg"
    shutil.copyfile(demo_workspace, path)
    at = AppTest.from_file(APP, default_timeout=300)
    at.session_state[Keys.WORKSPACE] = str(path)
    at.run()
    at.switch_page("app_pages/tournees.py")
    at.run()
    at.date_input(key=Keys.W_PLAN_WEEK).set_value(MONDAY).run()
    assert not at.exception, at.exception
    return at, path


def test_a_week_without_plan_invites_to_optimise(page) -> None:
    at, _ = page
    assert "Aucun plan" in at.info[0].value


def test_optimise_shows_the_grid_and_saves_a_version(page) -> None:
    at, path = page
    at.button(key=Keys.W_PLAN_RUN).click().run()
    assert not at.exception, at.exception
    saved = load_plan(Workspace.open(path), "2026-W49")
    assert saved is not None and saved.version == 1 and len(saved.visits) >= 10
    grid = next(d.value for d in at.dataframe if "Équipe centre" in d.value.columns)
    assert set(grid.columns) == set(saved.visits["team"]) and "lundi 30/11" in grid.index
    labels = [b.proto.label for b in at.get("download_button")]
    files = ["Plan (CSV)", "Feuilles de route (PDF, A4)", "Feuilles de route (HTML)"]
    assert labels == [*files, "Calendrier (.ics)"]
    # The teams, feedback and history panels are closed: they ran nothing.
    assert not [e for e in at.dataframe if "Disponibilités (en clair)" in e.value]
    assert not [s for s in at.selectbox if s.key == Keys.W_FEEDBACK_VISIT]
    assert {e.label for e in at.expander} >= {"Équipes", "Historique des versions"}
    for panel in LAZY_PANELS:
        at.session_state[panel] = True  # as a click on the panel's title
    at.run()
    assert not at.exception, at.exception
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == [*files, "Calendrier (.ics)", "Historique des versions (CSV)"]
    # Zones by name, their code beside; places by name, never by id.
    visits = next(d.value for d in at.dataframe if "place_name" in d.value.columns)
    assert visits["zone_name"].tolist() == saved.visits["zone_name"].tolist()
    assert visits["code_zone"].tolist() == saved.visits["code_zone"].tolist()
    assert "zone" not in visits.columns and "place" not in visits.columns
    assert not set(visits["zone_name"]) & set(saved.visits["zone"])
    labels = at.selectbox(key=Keys.W_FEEDBACK_VISIT).options
    assert all(f"({z})" in o for o, z in zip(labels, saved.visits["zone_name"], strict=True))


def test_lock_and_delete_make_a_new_version(page) -> None:
    at, path = page
    ws = Workspace.open(path)
    before = load_plan(ws, "2026-W49")
    editor_key = f"{Keys.W_PLAN_EDIT}_2026-W49_{before.version}"
    state = {"edited_rows": {"0": {"locked": True}}, "added_rows": [], "deleted_rows": [1]}
    at.session_state[editor_key] = state
    at.run()
    at.button(key=Keys.W_PLAN_SAVE).click().run()
    assert not at.exception, at.exception
    after = load_plan(ws, "2026-W49")
    assert after.version == before.version + 1
    assert len(after.visits) == len(before.visits) - 1
    assert after.visits["locked"].sum() == 1
    assert plan_history(ws, "2026-W49")["change"].iloc[-1].startswith("modifications")


def test_feedback_form_records_aggregated_contacts(page) -> None:
    at, path = page
    ws = Workspace.open(path)
    before = ws.layers()["contacts"].count
    at.number_input(key=f"{Keys.W_FEEDBACK_N}_2").set_value(6)  # hors radars
    at.button(key="FormSubmitter:" + Keys.W_FEEDBACK_FORM + "-Enregistrer le retour").click()
    at.run()
    assert not at.exception, at.exception
    assert any("6 contact(s) enregistré(s)" in s.value for s in at.success)
    assert ws.layers()["contacts"].count == before + 6
    at.run()  # the form shows what is now recorded for the visit
    assert any(
        c.value.startswith("Déjà enregistré pour cette visite : 6 hors radars") for c in at.caption
    )


def test_a_second_feedback_corrects_the_first_and_keeps_it_in_the_history(page) -> None:
    at, path = page
    ws = Workspace.open(path)
    before = ws.layers()["contacts"].count
    at.number_input(key=f"{Keys.W_FEEDBACK_N}_0").set_value(2)
    at.button(key="FormSubmitter:" + Keys.W_FEEDBACK_FORM + "-Enregistrer le retour").click()
    at.run()
    assert not at.exception, at.exception
    assert ws.layers()["contacts"].count == before - 6 + 2  # replaced, not added
    caption = next(c.value for c in at.caption if c.value.startswith("Déjà enregistré"))
    assert caption.startswith("Déjà enregistré pour cette visite : 2 ")  # at once
    assert "reste dans l'historique" in caption
    history = next(d.value for d in at.dataframe if "État" in d.value.columns)
    assert history["État"].tolist()[0] == "actif"
    assert history["État"].tolist()[1].startswith(f"remplacé par le lot {history['Lot'][0]}")


def test_route_map_draws_every_visit_of_the_week(page) -> None:
    at, path = page
    saved = load_plan(Workspace.open(path), "2026-W49")
    script = map_text(at)
    assert json.dumps("Tournées")[1:-1] in script and script.count('"ordre":') >= len(saved.visits)
    for name in saved.visits["place_name"]:  # as the map's data block writes it (d'Ardoise)
        assert _script_safe(json.dumps(name, ensure_ascii=False))[1:-1] in script, name


def _a_time_that_fits(ws: Workspace, visits, row: int) -> str:
    """A start time (HH:MM, a new one) in the team's and the place's hours."""
    for minute in range(9 * 60 + 35, 18 * 60, 5):
        start = f"{minute // 60:02d}:{minute % 60:02d}"
        if start == f"{visits.iloc[row]['start']:%H:%M}":
            continue
        moved = move_visit(visits, visits.index[row], start)
        if not check_visit_times(ws, "2026-W49", moved.iloc[[row]]):
            return start
    raise AssertionError("no time fits the visit")


def test_moving_a_visit_locks_it_at_its_new_time(page) -> None:
    at, path = page
    ws = Workspace.open(path)
    before = load_plan(ws, "2026-W49")
    editor_key = f"{Keys.W_PLAN_EDIT}_2026-W49_{before.version}"
    old = before.visits.iloc[2]
    new_start = _a_time_that_fits(ws, before.visits, 2)
    at.session_state[editor_key] = {
        "edited_rows": {"2": {"debut": new_start}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    at.button(key=Keys.W_PLAN_SAVE).click().run()
    assert not at.exception, at.exception
    after = load_plan(ws, "2026-W49").visits
    same_day = after["start"].map(lambda t: t.date()) == old["start"].date()
    moved = after[  # a place is visited once a day: the team may lock it on other days
        (after["place"] == old["place"])
        & (after["team"] == old["team"])
        & after["locked"]
        & same_day
    ]
    assert [f"{t:%H:%M}" for t in moved["start"]] == [new_start]
    assert (moved["end"] - moved["start"]).iloc[0] == old["end"] - old["start"]


@pytest.mark.parametrize(
    ("new_start", "why"),
    [
        ("06:00", "hors des disponibilités de l'équipe"),
        ("23:30", "hors des disponibilités de l'équipe"),
        ("25:99", "heure invalide"),  # typed by hand: refused in French, never a traceback
    ],
)
def test_a_move_outside_the_team_hours_is_refused_with_its_reason(page, new_start, why) -> None:
    at, path = page
    ws = Workspace.open(path)
    before = load_plan(ws, "2026-W49")
    at.session_state[f"{Keys.W_PLAN_EDIT}_2026-W49_{before.version}"] = {
        "edited_rows": {"0": {"debut": new_start}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    at.button(key=Keys.W_PLAN_SAVE).click().run()
    assert not at.exception, at.exception
    message = at.error[0].value
    assert message.startswith("Modifications non enregistrées")
    assert why in message and new_start in message
    assert load_plan(ws, "2026-W49").version == before.version
    at.session_state[f"{Keys.W_PLAN_EDIT}_2026-W49_{before.version}"] = {
        "edited_rows": {},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()


def test_two_editors_the_second_is_refused_and_nothing_is_lost(page) -> None:
    at, path = page
    ws = Workspace.open(path)
    before = load_plan(ws, "2026-W49")
    other = AppTest.from_file(APP, default_timeout=300)  # a second session on the same week
    other.session_state[Keys.WORKSPACE] = str(path)
    other.run()
    other.switch_page("app_pages/tournees.py")
    other.run()
    other.date_input(key=Keys.W_PLAN_WEEK).set_value(MONDAY).run()
    editor_key = f"{Keys.W_PLAN_EDIT}_2026-W49_{before.version}"
    other.session_state[editor_key] = {
        "edited_rows": {},
        "added_rows": [],
        "deleted_rows": [0],
    }
    other.run()
    other.button(key=Keys.W_PLAN_SAVE).click().run()
    assert not other.exception, other.exception
    first = load_plan(ws, "2026-W49")
    assert first.version == before.version + 1 and len(first.visits) == len(before.visits) - 1

    at.session_state[editor_key] = {"edited_rows": {}, "added_rows": [], "deleted_rows": [1]}
    at.run()  # this session still shows (and edits) the version it opened
    assert any("modifiée depuis que vous l'avez ouverte" in w.value for w in at.warning)
    at.button(key=Keys.W_PLAN_SAVE).click().run()
    assert not at.exception, at.exception
    message = at.error[0].value
    assert "la semaine a été modifiée entre-temps" in message
    assert "1 visite retirée" in message and "reprenez votre modification" in message
    after = load_plan(ws, "2026-W49")  # nothing lost, nothing overwritten
    assert after.version == first.version and len(after.visits) == len(first.visits)

    at.button(key=Keys.W_PLAN_DROP).click().run()  # this one drops its edit and reloads
    assert not at.exception, at.exception
    assert at.session_state[f"{Keys.PLAN_BASE}_2026-W49"] == first.version
    assert not any("modifiée depuis" in w.value for w in at.warning) and not at.error
    assert load_plan(ws, "2026-W49").version == first.version


def test_restoring_an_earlier_version(page) -> None:
    at, path = page
    ws = Workspace.open(path)
    before = load_plan(ws, "2026-W49")
    at.selectbox(key=Keys.W_PLAN_RESTORE_VERSION).set_value(1).run()
    at.button(key=Keys.W_PLAN_RESTORE).click().run()
    assert not at.exception, at.exception
    after = load_plan(ws, "2026-W49")
    assert after.version == before.version + 1
    assert len(after.visits) == len(load_plan(ws, "2026-W49", version=1).visits)
    assert any(f"restaurée comme version {after.version}" in s.value for s in at.success)
    assert plan_history(ws, "2026-W49")["change"].iloc[-1] == "restauration de la version 1"


def test_feedback_shows_what_is_recorded_for_the_visit(page) -> None:
    at, _ = page
    at.run()
    captions = [c.value for c in at.caption]
    assert any(c.startswith(("Déjà enregistré", "Aucun retour enregistré")) for c in captions)


# ------------------------------------------------------------------------------ places
def _folium_scripts(at: AppTest) -> list[str]:
    import json

    return [
        json.loads(e.proto.json_args)["html"] + json.loads(e.proto.json_args)["script"]
        for e in at.main.get("component_instance")
        if "streamlit_folium" in e.proto.component_name
    ]


def _inside_a_commune(path: Path) -> tuple[str, float, float]:
    communes = Workspace.open(path).read_layer("communes").to_crs(4326)
    point = communes.geometry.iloc[3].representative_point()
    # 230 m from the commune's generated centre (on it, the new place would replace it)
    return str(communes["code"].iloc[3]), point.x + 0.003, point.y


def test_places_map_shows_the_candidates(page) -> None:
    at, path = page
    at.toggle(key=Keys.W_PLACES_SHOW).set_value(True).run()
    assert not at.exception, at.exception
    places = candidate_places(Workspace.open(path))
    scripts = [s for s in _folium_scripts(at) if "Lieux d\\u0027aller-vers" in s]
    assert len(scripts) == 1
    for name in places["nom"].head(5):  # as the map escapes text in its script
        assert name.replace("'", "\\u0027") in scripts[0]


def test_a_place_added_by_position_gets_its_commune(page) -> None:
    at, path = page
    code, lon, lat = _inside_a_commune(path)
    before = len(candidate_places(Workspace.open(path)))
    at.text_input(key=Keys.W_PLACE_NAME).input("Square des Tilleuls")
    at.selectbox(key=Keys.W_PLACE_KIND).set_value("parc")
    at.number_input(key=Keys.W_PLACE_LAT).set_value(lat)
    at.number_input(key=Keys.W_PLACE_LON).set_value(lon)
    at.text_input(key=Keys.W_PLACE_HOURS).input("We 14:00-18:00")
    at.button(key="FormSubmitter:" + Keys.W_PLACE_FORM + "-Ajouter le lieu").click().run()
    assert not at.exception, at.exception
    assert any("Square des Tilleuls" in s.value for s in at.success)
    names = Workspace.open(path).read_table("communes", columns=["code", "nom"])
    commune = names.loc[names["code"] == code, "nom"].iloc[0]
    assert any(f"(commune {commune})" in s.value for s in at.success)
    places = candidate_places(Workspace.open(path))
    assert len(places) == before + 1
    added = places[places["nom"] == "Square des Tilleuls"].iloc[0]
    assert (added["zone"], added["type"], added["horaires"]) == (code, "parc", "We 14:00-18:00")
    assert at.text_input(key=Keys.W_PLACE_NAME).value == ""  # the form starts empty again


def test_a_place_outside_the_territory_is_refused_with_every_reason(page) -> None:
    at, path = page
    before = len(candidate_places(Workspace.open(path)))
    at.text_input(key=Keys.W_PLACE_NAME).input("")
    at.number_input(key=Keys.W_PLACE_LAT).set_value(43.2965)  # Marseille
    at.number_input(key=Keys.W_PLACE_LON).set_value(5.3698)
    at.text_input(key=Keys.W_PLACE_HOURS).input("le mercredi")
    at.button(key="FormSubmitter:" + Keys.W_PLACE_FORM + "-Ajouter le lieu").click().run()
    assert not at.exception, at.exception
    message = at.error[0].value
    assert message.startswith("Lieu non ajouté")
    assert "nom manquant" in message and "hors des communes" in message
    assert "illisible" in message
    assert len(candidate_places(Workspace.open(path))) == before


def test_removing_a_place(page) -> None:
    at, path = page
    places = candidate_places(Workspace.open(path))
    gone = places.loc[places["nom"] == "Square des Tilleuls", "id"].iloc[0]
    shown = at.multiselect(key=Keys.W_PLACES_REMOVE).options
    assert any(o.startswith("Square des Tilleuls (parc, ") for o in shown)
    ids = {f"({i})" for i in places["id"]}
    assert not [o for o in shown if any(o.endswith(i) for i in ids)]  # no id shown
    at.multiselect(key=Keys.W_PLACES_REMOVE).set_value([gone]).run()
    at.button(key=Keys.W_PLACES_REMOVE_BUTTON).click().run()
    assert not at.exception, at.exception
    left = candidate_places(Workspace.open(path))
    assert len(left) == len(places) - 1 and gone not in set(left["id"])
    assert any("1 lieu(x) retiré(s)" in s.value for s in at.success)


def test_the_coverage_of_the_priority_zones_names_a_zone_without_place(page) -> None:
    at, path = page
    at.toggle(key=Keys.W_PLACES_SHOW).set_value(True).run()
    assert not at.exception, at.exception
    labels = [e.label for e in at.expander if e.label.startswith("Couverture")]
    assert len(labels) == 1 and not [w for w in at.warning if "aucun lieu" in w.value]
    covered, total = labels[0].split(" : ")[1].split(" ont ")[0].split(" sur ")
    assert covered == total  # the demo: every QPV and priority commune has places
    ws = Workspace.open(path)
    places = candidate_places(ws)
    qpv = ws.read_layer("qpv")
    name = str(qpv["nom"].iloc[0])
    inside = places.to_crs(2154).within(qpv.to_crs(2154).geometry.iloc[0].buffer(50))
    remove_places(ws, places.loc[inside.to_numpy(), "id"])
    at.run()
    assert not at.exception, at.exception
    warnings = [w.value for w in at.warning if "aucun lieu candidat" in w.value]
    expected = f"Zone {name} (QPV {qpv['code'].iloc[0]}) : aucun lieu candidat "
    assert warnings == [expected + "(ni partenaire, ni QPV, ni point d'intérêt)"]


def test_a_week_planned_for_one_territory(demo_workspace: Path, tmp_path: Path) -> None:
    from territory.territories import resolve

    path = tmp_path / "demo.gpkg"
    shutil.copyfile(demo_workspace, path)
    at = AppTest.from_file(APP, default_timeout=300)
    at.session_state[Keys.WORKSPACE] = str(path)
    at.run()
    at.switch_page("app_pages/tournees.py")
    at.run()
    at.date_input(key=Keys.W_PLAN_WEEK).set_value(MONDAY).run()
    choice = at.selectbox(key=Keys.W_PLAN_TERRITORY)
    assert choice.options == ["Tout l'espace de travail", "Agglomération de l'Ardoise",
                              "Communes rurales", "Val de la Chênaie",
                              "Hauts des Tilleuls"]  # fmt: skip  # the last two: the programme's
    choice.set_value("Communes rurales").run()
    assert at.checkbox(key=Keys.W_PLAN_OUTSIDE).value is False
    at.button(key=Keys.W_PLAN_RUN).click().run()
    assert not at.exception, at.exception
    ws = Workspace.open(path)
    saved = load_plan(ws, "2026-W49", territory="Communes rurales")
    assert saved is not None and len(saved.visits) >= 1 and saved.territory == "Communes rurales"
    assert set(saved.visits["zone"]) <= resolve(ws, "Communes rurales")
    assert load_plan(ws, "2026-W49") is None  # the whole workspace's week: its own versions
    assert any(h.value.startswith("Version 1 — ") for h in at.subheader)  # this plan shown
    assert any("Plan du territoire « Communes rurales »" in w.value for w in at.warning)


def test_the_teams_editor_shows_the_availability_in_french(page) -> None:
    at, _ = page
    editors = [e for e in at.dataframe if "Disponibilités (en clair)" in e.value]
    assert editors, "no teams editor with the French availability column"
    shown = editors[0].value
    assert "adresse_base" in shown.columns
    assert shown["mode"].isin(["marche", "vélo", "voiture", "transports en commun"]).all()
    assert (
        shown["Disponibilités (en clair)"].str.contains(r"^(?:lun|mar|mer|jeu|ven|sam|dim)\.").all()
    )


def test_saving_the_teams_editor_unchanged_keeps_the_teams(page) -> None:
    at, path = page
    before = Workspace.open(path).read_table("teams")
    at.button(key=Keys.W_TEAMS_SAVE).click().run()
    assert not at.exception, at.exception
    assert "Équipes enregistrées." in [s.value for s in at.success]
    after = Workspace.open(path).read_table("teams")
    assert after["nom"].tolist() == before["nom"].tolist()
    assert after["base_lon"].tolist() == pytest.approx(before["base_lon"].tolist())
    assert "adresse_base" not in after.columns


def test_a_team_base_placed_on_the_map_is_saved_with_the_teams(page) -> None:
    at, path = page
    before = Workspace.open(path).read_table("teams")
    team = str(before["nom"].iloc[-1])
    at.toggle(key=Keys.W_TEAM_BASE_SHOW).set_value(True).run()
    assert not at.exception, at.exception
    at.selectbox(key=Keys.W_TEAM_BASE_TEAM).set_value(team).run()
    lon = float(before["base_lon"].iloc[-1]) + 0.01
    lat = float(before["base_lat"].iloc[-1]) + 0.01
    at.number_input(key=Keys.W_TEAM_BASE_LAT).set_value(lat)  # as a click on the map fills them
    at.number_input(key=Keys.W_TEAM_BASE_LON).set_value(lon).run()
    at.button(key=Keys.W_TEAM_BASE_SET).click().run()
    assert not at.exception, at.exception
    assert any(team in c.value for c in at.caption if "Base ou grille appliquée" in c.value)
    shown = next(e.value for e in at.dataframe if "adresse_base" in e.value.columns)
    row = shown[shown["nom"] == team].iloc[0]
    assert (row["base_lon"], row["base_lat"]) == pytest.approx((lon, lat))
    assert Workspace.open(path).read_table("teams")["base_lon"].iloc[-1] != pytest.approx(lon)
    at.button(key=Keys.W_TEAMS_SAVE).click().run()
    assert "Équipes enregistrées." in [s.value for s in at.success]
    after = Workspace.open(path).read_table("teams")
    assert after.loc[after["nom"] == team, ["base_lon", "base_lat"]].iloc[0].tolist() == (
        pytest.approx([lon, lat])
    )
    assert not at.session_state[Keys.TEAM_BASES]
    at.toggle(key=Keys.W_TEAM_BASE_SHOW).set_value(False).run()


def test_the_weekly_grid_shows_a_team_availability_and_applies_it(page) -> None:
    at, path = page
    ws = Workspace.open(path)
    teams = ws.read_table("teams")
    first, second = str(teams["nom"].iloc[0]), str(teams["nom"].iloc[1])
    teams["disponibilites"] = [
        "Mo-Fr 09:00-12:30,14:00-18:00",
        *["Mo 09:30-12:30"] * (len(teams) - 1),
    ]
    save_teams(ws, teams)
    at.run()
    at.toggle(key=Keys.W_TEAM_GRID_SHOW).set_value(True).run()
    at.selectbox(key=Keys.W_TEAM_GRID_TEAM).set_value(first).run()
    assert not at.exception, at.exception
    grid = next(e.value for e in at.dataframe if "matin (9h-12h30)" in e.value.columns)
    assert grid.loc["lundi"].tolist() == [True, True, False]
    assert not grid.loc["samedi"].any()
    at.button(key=Keys.W_TEAM_GRID_SET).click().run()
    assert at.session_state[Keys.TEAM_HOURS] == {first: "Mo-Fr 09:00-12:30,14:00-18:00"}
    assert any(first in c.value for c in at.caption if "grille appliquée" in c.value)
    at.selectbox(key=Keys.W_TEAM_GRID_TEAM).set_value(second).run()
    assert any("pas exprimables dans la grille" in c.value for c in at.caption)
    at.button(key=Keys.W_TEAM_GRID_SET).click().run()
    assert "cochez au moins un créneau" in at.error[0].value
    assert second not in at.session_state[Keys.TEAM_HOURS]
    at.session_state[Keys.TEAM_HOURS] = {}
    at.toggle(key=Keys.W_TEAM_GRID_SHOW).set_value(False).run()


def _editor_app() -> None:
    import pandas as pd
    import streamlit as st

    view = pd.DataFrame(
        {"debut": ["09:00", "10:30", "14:00", "16:00"], "locked": [False, True, False, False]},
        index=[3, 5, 8, 9],  # a plan's visits keep their labels after a deletion
    )
    st.session_state["returned"] = st.data_editor(view, num_rows="dynamic", key="editor")
    st.session_state["view"] = view


def test_the_save_callback_reads_the_editor_as_streamlit_applies_it() -> None:
    """:func:`editor_result` (the save's callback) gives the frame ``st.data_editor`` returns."""
    from territory.ui.tournees import editor_result

    at = AppTest.from_function(_editor_app)
    edits = {
        "edited_rows": {0: {"locked": True}, 2: {"debut": "15:15", "locked": True}},
        "added_rows": [],
        "deleted_rows": [1],
    }
    at.session_state["editor"] = edits
    at.run()
    assert not at.exception, at.exception
    returned, view = at.session_state["returned"], at.session_state["view"]
    assert returned.index.tolist() == [3, 8, 9]  # the deleted row gone, labels kept
    pd.testing.assert_frame_equal(editor_result(view, edits), returned)
    pd.testing.assert_frame_equal(editor_result(view, None), view)
