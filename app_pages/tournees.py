"""Tournées: optimise a week of rounds, review it per team, lock or delete visits, export."""

from datetime import date, timedelta

import streamlit as st

from territory import TerritoryError
from territory.rounds.outputs import day_label
from territory.rounds.week import latest_version, plan_week, save_plan
from territory.ui.common import (
    data_key,
    demo_banner,
    lazy_panel,
    show_flash,
    workspace_or_stop,
)
from territory.ui.loaders import cached_plan_view, settings
from territory.ui.login import may
from territory.ui.state import Keys
from territory.ui.tournees import (
    audit_plan_change,
    base_plan,
    feedback_form,
    history_panel,
    places_panel,
    plan_downloads,
    plan_options,
    route_map,
    save_panel,
    teams_editor,
    visits_editor,
)
from territory.ui.uploads import APP_AUTHOR

ws = workspace_or_stop()
demo_banner(ws)
st.title("Tournées de la semaine")
show_flash()
monday = st.date_input(
    "Semaine du",
    value=date.today() + timedelta(days=7 - date.today().weekday()),
    format="DD/MM/YYYY",
    key=Keys.W_PLAN_WEEK,
)
year, number, _ = monday.isocalendar()
week = f"{year}-W{number:02d}"
st.caption(f"Semaine ISO {week}. Chaque optimisation ou modification est une nouvelle version.")
territory, outside = plan_options(ws)  # a week has its versions per territory
base_key = f"{Keys.PLAN_BASE}_{week}"  # the version this session works on
base_key += f"_{territory}" if territory else ""

# The three panels below run only when open (a lazy expander): twenty sessions rerun this
# page every few seconds, and a closed panel would still build its tables and widgets.
if may("plan", workspace=ws.path.stem) and (
    teams := lazy_panel("Équipes", icon=":material/groups:", key=Keys.W_TEAMS_OPEN)
):
    with teams:
        teams_editor(ws, territory)
if st.toggle("Lieux d'aller-vers : voir, ajouter sur la carte, retirer", key=Keys.W_PLACES_SHOW):
    places_panel(ws)

planning = may("plan", workspace=ws.path.stem)
if planning and st.button(
    "Optimiser la semaine", icon=":material/route:", type="primary", key=Keys.W_PLAN_RUN
):
    with st.status("Optimisation des tournées…", expanded=True) as status:
        try:
            status.write("Lieux, équipes, valeur des créneaux (chiffres protégés)…")
            plan, places = plan_week(
                ws,
                week,
                settings=settings(),
                territory=territory,
                outside_sector=outside,
                time_limit=5.0,
            )
            status.write(
                f"{len(plan.visits)} visite(s) trouvée(s) en {plan.stats.get('time_s', 0):.1f} s"
            )
            done = save_plan(
                ws,
                week,
                plan,
                places,
                change="optimisation (page Tournées)",
                author=APP_AUTHOR,
                base_version=st.session_state.get(base_key),
                territory=territory,
            )
            st.session_state[base_key] = done.version
            audit_plan_change(ws, done, "optimisation")
            status.update(label="Plan enregistré", state="complete")
        except TerritoryError as exc:
            status.update(label="Optimisation impossible", state="error")
            st.error(str(exc))

last = latest_version(ws, week, territory)  # read now, once per rerun: never from a cache
saved = base_plan(ws, week, base_key, last, territory)
if saved is None:
    st.info("Aucun plan pour cette semaine : lancez l'optimisation.")
    st.stop()
st.subheader(f"Version {saved.version} — {len(saved.visits)} visite(s)")
for note in saved.notes:
    st.warning(note, icon=":material/info:")
view = cached_plan_view(data_key(ws), week, saved.version, territory)
st.dataframe(view.grid, width="stretch")
days = sorted({t.date() for t in saved.visits["start"]})
day = st.selectbox(
    "Carte des tournées",
    [None, *days],
    key=Keys.W_PLAN_DAY,
    format_func=lambda d: "toute la semaine" if d is None else day_label(d),
)
route_map(ws, saved, view.routes, day)

st.markdown(
    "**Visites** — cochez pour verrouiller, changez l'heure de début pour déplacer (la visite "
    "est alors verrouillée), supprimez une ligne pour retirer la visite."
)
visits_editor(saved, view.table)  # its edits are read by the save button's callback
if planning:
    save_panel(ws, saved, view.table, base_key)
plan_downloads(saved, ws)
if may("feedback", workspace=ws.path.stem) and (
    feedback := lazy_panel(
        "Retour de visite (contacts par statut, sans nom)",
        icon=":material/task_alt:",
        key=Keys.W_FEEDBACK_OPEN,
    )
):
    with feedback:
        feedback_form(ws, saved)
if history := lazy_panel(
    "Historique des versions", icon=":material/history:", key=Keys.W_PLAN_HISTORY_OPEN
):
    with history:
        history_panel(ws, week, base_key, last, territory)
