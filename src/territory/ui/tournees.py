"""The "Tournées" page's widgets: teams, places, visits editor, route map, exports, feedback.

Each calls the tested core in :mod:`territory.rounds.week`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date
from typing import Any

import geopandas as gpd
import pandas as pd
import streamlit as st

from territory import EditConflictError, TerritoryError
from territory.batches import batches_table
from territory.hours import format_hours_fr, read_hours
from territory.map import RETURNED_OBJECTS
from territory.rounds.feedback import record_feedback, visit_label
from territory.rounds.naming import commune_names
from territory.rounds.outputs import EDITOR_COLUMNS
from territory.rounds.places import coverage_notes, sources_note
from territory.rounds.sheets import sheet_html, sheet_pdf
from territory.rounds.teams import (
    GRID_SLOTS,
    HOURS_FR_COLUMN,
    grid_from_hours,
    hours_from_grid,
    with_bases,
    with_hours,
    with_hours_fr,
)
from territory.rounds.week import (
    TEAM_COLUMNS,
    WeekPlan,
    add_places,
    latest_version,
    move_visit,
    new_place,
    remove_places,
    replay_edit,
    restore_version,
    save_edited,
    save_teams,
    visit_changes,
)
from territory.store import Workspace
from territory.territories import WHOLE_WORKSPACE
from territory.ui.common import base_url_path, data_key, flash, table_download
from territory.ui.loaders import (
    cached_coverage,
    cached_places,
    cached_places_map,
    cached_plan,
    cached_plan_history,
    cached_plan_view,
    cached_route_map,
    cached_sector_choices,
    cached_teams,
    cached_territory_names,
    cached_visit_feedback,
    cached_week_teams,
    plan_files,
    settings,
)
from territory.ui.login import audited, downloaded, scoped_territories
from territory.ui.mapview import show_map
from territory.ui.state import Keys
from territory.ui.uploads import APP_AUTHOR
from territory.vocab import KINDS, MODES, STATUSES, WEEKDAYS_FR

__all__ = [
    "apply_edits",
    "audit_plan_change",
    "base_plan",
    "coverage_panel",
    "feedback_form",
    "history_panel",
    "places_panel",
    "plan_downloads",
    "plan_options",
    "replace_visits",
    "route_map",
    "save_panel",
    "teams_editor",
    "visits_editor",
]

HISTORY_HEADERS = {
    "version": "Version",
    "created": "Enregistrée le",
    "author": "Auteur",
    "change": "Modification",
    "objective": "Valeur du plan",
}
"""French headers of the version history's CSV."""


def teams_editor(ws: Workspace, territory: str | None = None) -> None:
    """The stored teams in an editable table, saved on request (every problem listed).

    A new team without a territory as sector is saved on ``territory`` (the territory
    planned, :func:`~territory.rounds.teams.team_territories`).

    The ``secteur`` column lists the programme territories and the EPCI of the workspace
    (:func:`~territory.rounds.sectors.sector_choices`); empty: no sector.
    """
    stored = cached_teams(data_key(ws))
    table = pd.DataFrame(columns=TEAM_COLUMNS) if stored is None else stored
    table = table.reindex(columns=TEAM_COLUMNS)  # a table stored before sectors: none
    table["secteur"] = table["secteur"].astype(object).fillna("").astype(str)
    written = [s for s in table["secteur"] if s]
    options = ["", *dict.fromkeys([*cached_sector_choices(data_key(ws)), *written])]
    _base_on_map(ws, [str(name) for name in table["nom"].dropna()])
    _week_grid(table)
    placed = st.session_state.get(Keys.TEAM_BASES) or {}
    gridded = st.session_state.get(Keys.TEAM_HOURS) or {}
    table = with_hours(with_bases(table, placed), gridded)
    if placed or gridded:
        changed = ", ".join(dict.fromkeys([*placed, *gridded]))
        st.caption(
            f"Base ou grille appliquée : {changed} ; enregistrez les équipes pour les garder."
        )
    shown = with_hours_fr(table)
    shown.insert(shown.columns.get_loc("base_lon"), "adresse_base", "")
    edited = st.data_editor(
        shown,
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        key=Keys.W_TEAMS_EDIT,
        disabled=[HOURS_FR_COLUMN],
        column_config={
            "nom": st.column_config.TextColumn("Équipe", help="Nom de l'équipe (colonne nom)"),
            "taille": st.column_config.NumberColumn(
                "Taille", help="Personnes de l'équipe (colonne taille)"
            ),
            "base_lon": st.column_config.NumberColumn(
                "Longitude de la base", format="%.5f", help="Colonne base_lon du fichier"
            ),
            "base_lat": st.column_config.NumberColumn(
                "Latitude de la base", format="%.5f", help="Colonne base_lat du fichier"
            ),
            "max_tournees": st.column_config.NumberColumn(
                "Tournées par semaine (max.)", help="Colonne max_tournees ; vide : sans limite"
            ),
            "max_heures": st.column_config.NumberColumn(
                "Heures par semaine (max.)", help="Colonne max_heures ; vide : sans limite"
            ),
            "mode": st.column_config.SelectboxColumn(
                "Mode",
                options=list(MODES),
                help="marche (à pied), vélo, voiture ou transports en commun",
            ),
            HOURS_FR_COLUMN: st.column_config.TextColumn(
                HOURS_FR_COLUMN,
                help="Les disponibilités telles qu'elles seront lues (mises à jour à "
                "l'enregistrement)",
            ),
            "disponibilites": st.column_config.TextColumn(
                "Disponibilités",
                help="En français (« du lundi au vendredi de 9h à 12h30 et de 14h à 18h ») "
                "ou en syntaxe OSM (« Mo-Fr 09:00-12:30,14:00-18:00 »)",
            ),
            "adresse_base": st.column_config.TextColumn(
                "Adresse de la base",
                help="Adresse de la base, placée à l'enregistrement avec la BAN importée "
                "(videz sa longitude et sa latitude pour déplacer une base existante)",
            ),
            "secteur": st.column_config.SelectboxColumn(
                "Secteur",
                options=options,
                help="Territoire du programme ou EPCI où l'équipe intervient ; vide : partout",
            ),
        },
    )
    online = st.checkbox(
        "Chercher en ligne (BAN) les adresses de base introuvables sur place",
        key=Keys.W_TEAMS_ONLINE,
        help="Adresses de bureaux, publiques ; envoyées à api-adresse.data.gouv.fr",
    )
    if st.button("Enregistrer les équipes", icon=":material/save:", key=Keys.W_TEAMS_SAVE):
        try:
            save_teams(ws, edited, settings=settings(), online=online, territory=territory)
        except TerritoryError as exc:
            st.error(f"Équipes non enregistrées : {exc}")
        else:
            st.session_state[Keys.TEAM_BASES] = {}
            st.session_state[Keys.TEAM_HOURS] = {}
            st.success("Équipes enregistrées.")


def _week_grid(table: pd.DataFrame) -> None:
    """A team's availability as a French weekly grid; applied to the editor on request."""
    names = [str(name) for name in table["nom"].dropna()]
    if not names or not st.toggle("Grille de la semaine", key=Keys.W_TEAM_GRID_SHOW):
        return
    team = st.selectbox("Équipe", names, key=Keys.W_TEAM_GRID_TEAM)
    pending = st.session_state.get(Keys.TEAM_HOURS) or {}
    current = pending.get(team, table.loc[table["nom"].astype(str) == team, "disponibilites"])
    text = current if isinstance(current, str) else str(current.fillna("").iloc[0])
    grid = grid_from_hours(text)
    if grid is None:
        st.caption(
            f"Disponibilités actuelles « {format_hours_fr(read_hours(text)[0])} » : pas "
            "exprimables dans la grille, elle part vide."
        )
        grid = pd.DataFrame(False, index=list(WEEKDAYS_FR), columns=list(GRID_SLOTS))
    edited = st.data_editor(
        grid,
        key=f"{Keys.W_TEAM_GRID_EDIT}_{team}",
        width="stretch",
        column_config={name: st.column_config.CheckboxColumn(name) for name in GRID_SLOTS},
    )
    if st.button(f"Appliquer la grille à l'équipe {team}", key=Keys.W_TEAM_GRID_SET):
        hours = hours_from_grid(edited)
        if not hours:
            st.error("Grille non appliquée : cochez au moins un créneau.")
        else:
            st.session_state[Keys.TEAM_HOURS] = {**pending, team: hours}


def _base_on_map(ws: Workspace, names: list[str]) -> None:
    """Place a team's base by a click on the map (or typed), kept until the teams are saved."""
    if not names or not st.toggle(
        "Placer la base d'une équipe sur la carte", key=Keys.W_TEAM_BASE_SHOW
    ):
        return
    team = st.selectbox("Équipe", names, key=Keys.W_TEAM_BASE_TEAM)
    rendered, _ = cached_places_map(data_key(ws), settings().k, base_url_path())
    clicked = show_map(
        rendered,
        key=f"{Keys.W_TEAM_BASE_MAP}_{ws.data_version}",
        height=360,
        returned_objects=["last_clicked"],  # reruns on clicks only, not on pan
    )
    point = (clicked or {}).get("last_clicked")
    if point and point != st.session_state.get(Keys.TEAM_BASE_CLICK):
        st.session_state[Keys.TEAM_BASE_CLICK] = point
        st.session_state[Keys.W_TEAM_BASE_LAT] = round(float(point["lat"]), 6)
        st.session_state[Keys.W_TEAM_BASE_LON] = round(float(point["lng"]), 6)
    for key in (Keys.W_TEAM_BASE_LAT, Keys.W_TEAM_BASE_LON):
        st.session_state.setdefault(key, None)  # empty until a click or typing
    left, right = st.columns(2)
    lat = left.number_input("Latitude", -90.0, 90.0, format="%.6f", key=Keys.W_TEAM_BASE_LAT)
    lon = right.number_input("Longitude", -180.0, 180.0, format="%.6f", key=Keys.W_TEAM_BASE_LON)
    label = f"Placer la base de l'équipe {team} ici"
    clicked_set = st.button(
        label, icon=":material/home_pin:", key=Keys.W_TEAM_BASE_SET, disabled=lat is None
    )
    if clicked_set and lat is not None and lon is not None:
        bases = dict(st.session_state.get(Keys.TEAM_BASES) or {})
        st.session_state[Keys.TEAM_BASES] = {**bases, team: (lon, lat)}


def plan_options(ws: Workspace) -> tuple[str | None, bool]:
    """The programme territory to plan (None: the whole workspace) and the sector rule.

    A week has its versions per territory (:mod:`territory.rounds.plan_tables`): the
    choice is also which plan the page shows. A user scoped to some territories
    (:func:`~territory.ui.login.scoped_territories`: a chef d'équipe of one territory on
    the server) chooses among theirs only, never the whole workspace.
    """
    left, right = st.columns([2, 1])
    names = [WHOLE_WORKSPACE, *cached_territory_names(data_key(ws))]
    scoped = scoped_territories(ws.path.stem)
    if scoped is not None:
        names = [n for n in names if n in scoped] or [WHOLE_WORKSPACE]
    territory = left.selectbox("Territoire à planifier", names, key=Keys.W_PLAN_TERRITORY)
    outside = right.checkbox(
        "Autoriser les visites hors secteur",
        key=Keys.W_PLAN_OUTSIDE,
        help="Une équipe peut alors sortir de son secteur, la visite comptant pour moitié.",
    )
    return (None if territory == WHOLE_WORKSPACE else territory), outside


def base_plan(
    ws: Workspace, week: str, base_key: str, last: int | None, territory: str | None = None
) -> WeekPlan | None:
    """The version of ``week`` on ``territory`` this session works on (``base_key``).

    ``last`` is the week's latest version, read by the page at this rerun
    (:func:`~territory.rounds.week.latest_version`: never from a cache), once for the page.

    The first view of a week takes its last version. When another session saved the
    week since, the page says so and keeps showing this session's version until the
    user reloads: an edit is saved on the version it was made on, or refused
    (:func:`~territory.rounds.week.save_edited`), never over someone else's.
    """
    if last is None:
        return None
    key = data_key(ws)
    base = st.session_state.get(base_key)
    shown = cached_plan(key, week, last if base is None else base, territory)
    if shown is None:  # a version this session saw and that is gone: the latest
        shown = cached_plan(key, week, last, territory)
    if shown is None:  # the week's versions were removed meanwhile (an undo, a purge)
        return None
    st.session_state[base_key] = shown.version
    if shown.version != last and not st.session_state.get(_pending_key(week, shown.territory)):
        meta = cached_plan_history(key, week, last, territory).set_index("version").loc[last]
        left, right = st.columns([3, 1])
        left.warning(
            f"La semaine a été modifiée depuis que vous l'avez ouverte : version "
            f"{last} par {meta['author']} (« {meta['change']} »). Vous voyez la "
            f"version {shown.version} ; rechargez avant de la modifier.",
            icon=":material/sync_problem:",
        )
        if right.button("Recharger la semaine", icon=":material/refresh:", key=Keys.W_PLAN_RELOAD):
            st.session_state[base_key] = last
            st.rerun()
    return shown


def _pending_key(week: str, territory: str) -> str:
    return f"{Keys.PLAN_PENDING}_{week}_{territory}" if territory else f"{Keys.PLAN_PENDING}_{week}"


def save_panel(ws: Workspace, plan: WeekPlan, view: pd.DataFrame, base_key: str) -> None:
    """Save the edited visits on the version they were made on; keep them when refused.

    ``view``: the editor's table of ``plan`` (:func:`visits_editor`). The saves run in the
    buttons' callbacks, before the page's next run: one run shows the saved version (a
    rerun after the save would draw the page twice; twenty sessions edit at once).

    A save refused because the week was saved meanwhile
    (:class:`~territory.EditConflictError`) keeps the edit in the session, with the French
    message of what changed, until the user carries it over to the newest version
    (:func:`~territory.rounds.week.replay_edit`, then saved with every check) or drops it.
    """
    left, right = st.columns([1, 2])
    right.checkbox(
        "Confirmer : vider la semaine (aucune visite)",
        key=Keys.W_PLAN_EMPTY,
        help="Sans cette case, une version sans aucune visite n'est pas enregistrée.",
    )
    left.button(
        "Enregistrer les modifications",
        icon=":material/save:",
        key=Keys.W_PLAN_SAVE,
        on_click=_save_edits,
        args=(ws, plan, view, base_key),
    )
    if refused := st.session_state.pop(Keys.PLAN_REFUSED, None):
        st.error(refused)
    if st.session_state.get(_pending_key(plan.week, plan.territory)):
        _pending_edit(ws, plan.week, base_key, plan.territory)


def audit_plan_change(ws: Workspace, saved: WeekPlan, change: str) -> None:
    """The audit line of a version saved from the page: the week, version, territory, change."""
    audited(
        "plan_change",
        workspace=ws.path.stem,
        target=saved.week,
        details={
            "version": saved.version,
            "change": change,
            "territoire": saved.territory or "tout l'espace",
        },
    )


def editor_result(view: pd.DataFrame, edits: Mapping[str, Any] | None) -> pd.DataFrame:
    """``view`` after the data editor's ``edits`` (its session state: rows by position).

    Edited cells set, deleted rows dropped; added rows are not visits (ignored, as
    :func:`apply_edits` does): the frame ``st.data_editor`` returned at the last run.
    """
    out = view.copy()
    edits = edits or {}
    for position, changes in (edits.get("edited_rows") or {}).items():
        for column, value in changes.items():
            out.iloc[int(position), out.columns.get_loc(column)] = value
    deleted = [out.index[int(p)] for p in edits.get("deleted_rows") or []]
    return out.drop(index=deleted)


def _save_edits(ws: Workspace, plan: WeekPlan, view: pd.DataFrame, base_key: str) -> None:
    """The save button's callback: the editor's edits saved as the next version, or kept."""
    pending_key = _pending_key(plan.week, plan.territory)
    empty = bool(st.session_state.get(Keys.W_PLAN_EMPTY))
    edits = st.session_state.get(f"{Keys.W_PLAN_EDIT}_{plan.week}_{plan.version}")
    try:
        visits = apply_edits(plan, editor_result(view, edits))  # a bad hour is refused here
        done = save_edited(
            ws,
            plan.week,
            visits,
            change="modifications (page)",
            base_version=plan.version,
            author=APP_AUTHOR,
            allow_empty=empty,
            territory=plan.territory,
        )
    except EditConflictError as exc:
        st.session_state[pending_key] = (plan.version, visits, str(exc), empty)
    except TerritoryError as exc:
        st.session_state[Keys.PLAN_REFUSED] = f"Modifications non enregistrées : {exc}"
    else:
        st.session_state[base_key] = done.version
        st.session_state[pending_key] = None
        audit_plan_change(ws, done, "modifications")
        flash(f"Version {done.version} enregistrée.", reset={Keys.W_PLAN_EMPTY: False}, rerun=False)


def _pending_edit(ws: Workspace, week: str, base_key: str, territory: str) -> None:
    """The refused edit: why, and carry it over to the newest version or drop it."""
    message = st.session_state[_pending_key(week, territory)][2]
    st.error(f"Modifications non enregistrées : {message}", icon=":material/sync_problem:")
    st.caption(
        "Vos modifications sont gardées. Reprenez-les sur la dernière version (une visite "
        "modifiée des deux côtés garde la version de l'autre), ou abandonnez-les."
    )
    left, right = st.columns(2)
    left.button(
        "Reprendre mes modifications sur la dernière version",
        icon=":material/merge:",
        type="primary",
        key=Keys.W_PLAN_REPLAY,
        on_click=_replay_edits,
        args=(ws, week, base_key, territory),
    )
    right.button(
        "Abandonner mes modifications",
        icon=":material/undo:",
        key=Keys.W_PLAN_DROP,
        on_click=_drop_edits,
        args=(ws, week, base_key, territory),
    )


def _replay_edits(ws: Workspace, week: str, base_key: str, territory: str) -> None:
    """The replay button's callback: the kept edit carried over to the newest version."""
    pending_key = _pending_key(week, territory)
    if not st.session_state.get(pending_key):  # dropped meanwhile (a second click)
        return
    base_version, visits, _, empty = st.session_state[pending_key]
    # versions are never rewritten: both from the cache, the latest's number read now
    key, last = data_key(ws), latest_version(ws, week, territory)
    base = cached_plan(key, week, base_version, territory)
    latest = None if last is None else cached_plan(key, week, last, territory)
    if base is None or latest is None:
        st.session_state[Keys.PLAN_REFUSED] = (
            "Modifications non reprises : la semaine n'a plus cette version."
        )
        return
    carried, skipped = replay_edit(base.visits, visits, latest.visits)
    if not visit_changes(latest.visits, carried):  # the other editor did the same
        st.session_state[pending_key] = None
        st.session_state[base_key] = latest.version
        flash(f"Vos modifications sont déjà dans la version {latest.version}.", rerun=False)
        return
    try:
        done = save_edited(
            ws,
            week,
            carried,
            change="modifications reprises (page)",
            base_version=latest.version,
            author=APP_AUTHOR,
            allow_empty=empty,
            territory=territory,
        )
    except EditConflictError as exc:  # saved again meanwhile: kept, with the news
        st.session_state[pending_key] = (base_version, visits, str(exc), empty)
    except TerritoryError as exc:
        st.session_state[Keys.PLAN_REFUSED] = f"Modifications non reprises : {exc}"
    else:
        st.session_state[base_key] = done.version
        st.session_state[pending_key] = None
        audit_plan_change(ws, done, "modifications reprises")
        lost = f" Non reprises : {' ; '.join(skipped)}." if skipped else ""
        flash(
            f"Version {done.version} enregistrée : vos modifications reprises sur la "
            f"version {latest.version}.{lost}",
            reset={Keys.W_PLAN_EMPTY: False},
            rerun=False,
        )


def _drop_edits(ws: Workspace, week: str, base_key: str, territory: str) -> None:
    """The drop button's callback: the kept edit forgotten, the newest version shown."""
    st.session_state[_pending_key(week, territory)] = None
    st.session_state[base_key] = latest_version(ws, week, territory)


def history_panel(
    ws: Workspace, week: str, base_key: str, last: int | None, territory: str | None = None
) -> None:
    """The versions of the week on ``territory``, and restoring one as a new version.

    ``last``: the week's latest version, read by the page at this rerun.
    """
    history = cached_plan_history(data_key(ws), week, last or 0, territory)
    st.dataframe(history, hide_index=True, width="stretch")
    table_download(
        "Historique des versions (CSV)",
        history,
        file_name=f"versions-{week}.csv",
        key=Keys.W_PLAN_HISTORY_CSV,
        workspace=ws.path.stem,
        headers=HISTORY_HEADERS,
    )
    versions = [int(v) for v in history["version"]]
    if len(versions) < 2:
        return
    left, right = st.columns([2, 1])
    chosen = left.selectbox(
        "Version à restaurer",
        versions[:-1][::-1],
        key=Keys.W_PLAN_RESTORE_VERSION,
        format_func=lambda v: f"version {v}",
    )
    if right.button("Restaurer", icon=":material/restore:", key=Keys.W_PLAN_RESTORE):
        try:
            done = restore_version(
                ws,
                week,
                int(chosen),
                author=APP_AUTHOR,
                base_version=st.session_state.get(base_key),
                territory=territory,
            )
        except TerritoryError as exc:
            st.error(f"Version non restaurée : {exc}")
        else:
            st.session_state[base_key] = done.version
            audit_plan_change(ws, done, f"restauration de la version {chosen}")
            flash(f"Version {chosen} restaurée comme version {done.version}.")


def plan_downloads(plan: WeekPlan, ws: Workspace) -> None:
    """Download the plan: CSV, the field sheets (PDF, A4; HTML), the calendar (.ics) of a team.

    The calendars cancel the visits that older versions of the week had and this one has
    not (:func:`~territory.rounds.outputs.ics_calendars`). Every file is made only when its
    button is clicked (the PDF takes seconds, :mod:`territory.rounds.sheets`; the calendars
    read every earlier version of the week), once per version
    (:func:`~territory.ui.loaders.plan_files`), never at a rerun.
    """
    key = data_key(ws)
    left, middle, right = st.columns(3)
    left.download_button(
        "Plan (CSV)",
        downloaded(
            lambda: plan_files(key, plan)[0],
            workspace=ws.path.stem,
            target=f"tournees-{plan.week}.csv",
        ),
        file_name=f"tournees-{plan.week}.csv",
        mime="text/csv",
        icon=":material/download:",
    )
    config = settings()  # read here: the sheets are made outside the script run, on click
    left.download_button(
        "Feuilles de route (PDF, A4)",
        downloaded(
            lambda: sheet_pdf(plan, ws, settings=config),
            workspace=ws.path.stem,
            target=f"feuilles-{plan.week}.pdf",
        ),
        file_name=f"feuilles-{plan.week}.pdf",
        mime="application/pdf",
        icon=":material/print:",
    )
    left.download_button(
        "Feuilles de route (HTML)",
        downloaded(
            lambda: sheet_html(plan, ws, settings=config),
            workspace=ws.path.stem,
            target=f"feuilles-{plan.week}.html",
        ),
        file_name=f"feuilles-{plan.week}.html",
        mime="text/html",
        icon=":material/code:",
    )
    if teams := cached_week_teams(key, plan.week, plan.version, plan.territory):
        team = middle.selectbox("Équipe", teams, key=Keys.W_PLAN_TEAM)
        right.download_button(
            "Calendrier (.ics)",
            downloaded(
                lambda: plan_files(key, plan)[1][team],
                workspace=ws.path.stem,
                target=f"tournees-{plan.week}-{team}.ics",
            ),
            file_name=f"tournees-{plan.week}-{team}.ics",
            mime="text/calendar",
            icon=":material/calendar_month:",
        )


def replace_visits(plan: WeekPlan, team: str) -> WeekPlan:
    """The plan restricted to one team's visits."""
    return dataclasses.replace(plan, visits=plan.visits[plan.visits["team"] == team])


def feedback_form(ws: Workspace, plan: WeekPlan) -> None:
    """Record what a visit gave: contacts by status, aggregated (no names).

    Shows what is already recorded for the chosen visit; a visit not started yet is
    refused by :func:`~territory.rounds.feedback.record_feedback`.
    """
    visits = plan.visits
    labels = cached_plan_view(data_key(ws), plan.week, plan.version, plan.territory).labels
    chosen = st.selectbox(
        "Visite", list(labels), format_func=lambda i: labels[i], key=Keys.W_FEEDBACK_VISIT
    )
    recorded_slot = st.empty()  # filled after the form: a new recording shows at once
    with st.form(Keys.W_FEEDBACK_FORM, clear_on_submit=True):
        columns = st.columns(3)
        counts = {
            status: columns[i % 3].number_input(status, 0, 500, 0, key=f"{Keys.W_FEEDBACK_N}_{i}")
            for i, status in enumerate(STATUSES)
        }
        sent = st.form_submit_button("Enregistrer le retour", icon=":material/task_alt:")
    if sent and chosen is not None:
        try:
            n = record_feedback(
                ws,
                plan.week,
                visits.loc[chosen],
                {s: int(c) for s, c in counts.items() if c},
                settings=settings(),
                author=APP_AUTHOR,
            )
        except TerritoryError as exc:
            st.error(f"Retour non enregistré : {exc}")
        else:
            audited(  # round feedback is an import of contacts (the batch log says so too)
                "import",
                workspace=ws.path.stem,
                target=plan.week,
                details={"kind": "feedback", "contacts": n},
            )
            st.success(
                f"{n} contact(s) enregistré(s) pour cette visite (sans nom, au carreau "
                "de 200 m) : ils comptent dans la densité protégée.",
                icon=":material/check_circle:",
            )
    if chosen is not None:
        with recorded_slot.container():
            _recorded(ws, plan.week, visits.loc[chosen])


def _recorded(ws: Workspace, week: str, visit: pd.Series) -> None:
    """What is recorded for the visit, and every earlier recording (corrections kept)."""
    recorded, history = cached_visit_feedback(data_key(ws), week, visit_label(week, visit), visit)
    if recorded is None:
        st.caption("Aucun retour enregistré pour cette visite.")
    else:
        known = ", ".join(f"{n} {s}" for s, n in recorded.items()) or "aucun contact"
        st.caption(
            f"Déjà enregistré pour cette visite : {known}. Un nouveau retour le corrige : "
            "il remplace celui-ci, qui reste dans l'historique (annulable, page Données)."
        )
    if len(history) > 1:
        table = batches_table(reversed(history))[["Lot", "Auteur", "Date", "Comptes", "État"]]
        st.dataframe(table, hide_index=True, width="stretch")


def route_map(ws: Workspace, plan: WeekPlan, routes: str, day: date | None) -> None:
    """The rounds of the plan (one day, or the whole week) on the map component.

    ``routes``: the plan's :func:`~territory.rounds.outputs.routes_digest`, computed once
    per version (:func:`~territory.ui.loaders.cached_plan_view`).
    """
    drawn = cached_route_map(data_key(ws), settings().k, base_url_path(), routes, plan, day)
    if drawn is None:
        st.info("Aucune visite ce jour-là.")
        return
    rendered, legend = drawn
    left, right = st.columns([3, 1])
    with left:
        show_map(
            rendered,
            key=f"routes_{routes[:16]}_{day}",  # one map per drawing, not per version
            height=460,
            returned_objects=RETURNED_OBJECTS,
        )
    with right:
        st.html(legend)


def visits_editor(plan: WeekPlan, view: pd.DataFrame) -> pd.DataFrame:
    """The plan's visits in an editable table: lock, new start time, delete a row.

    ``view`` is :func:`~territory.rounds.outputs.editor_table` of the plan (cached with it:
    :func:`~territory.ui.loaders.cached_plan_view`).
    """
    columns = list(EDITOR_COLUMNS)
    return st.data_editor(
        view,
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        disabled=[c for c in columns if c not in ("debut", "locked")],
        key=f"{Keys.W_PLAN_EDIT}_{plan.week}_{plan.version}",
        column_config={
            "team": "Équipe",
            "jour": "Jour",
            "debut": "Début",
            "fin": "Fin",
            "place_name": "Lieu",
            "kind": "Type",
            "zone_name": "Zone",
            "code_zone": st.column_config.TextColumn("Code zone", width="small"),
            "pourquoi": st.column_config.TextColumn("Pourquoi", width="large"),
            "locked": "Verrouillée",
        },
    )


def apply_edits(plan: WeekPlan, edited: pd.DataFrame) -> pd.DataFrame:
    """The plan's visits after the editor: deleted rows gone, locks and moves applied."""
    rows = edited.index.intersection(plan.visits.index)  # deleted rows are gone
    visits = plan.visits.loc[rows].assign(locked=edited.loc[rows, "locked"].astype(bool))
    for index in rows:
        if edited.at[index, "debut"] != f"{plan.visits.at[index, 'start']:%H:%M}":
            visits = move_visit(visits, index, str(edited.at[index, "debut"]))
    return visits


# ------------------------------------------------------------------------------ places
def places_panel(ws: Workspace) -> None:
    """The candidate places on a map: click to place a new one, or remove some."""
    try:
        places = cached_places(data_key(ws))
    except TerritoryError as exc:  # no place stored, nothing to suggest from
        st.info(str(exc))
        places = None
    origin = "Aucun lieu candidat." if places is None else sources_note(places)
    st.caption(
        f"{origin} Cliquez sur la carte pour placer un nouveau lieu, puis complétez le formulaire."
    )
    if places is not None:
        coverage_panel(ws)
    rendered, legend = cached_places_map(data_key(ws), settings().k, base_url_path())
    left, right = st.columns([3, 1])
    with left:
        clicked = show_map(
            rendered,
            key=f"{Keys.W_PLACES_MAP}_{ws.data_version}",
            height=420,
            returned_objects=["last_clicked"],  # reruns on clicks only, not on pan
        )
    with right:
        st.html(legend)
    point = (clicked or {}).get("last_clicked")
    if point and point != st.session_state.get(Keys.PLACE_CLICK):
        # A new click fills the form's position; typed coordinates stay until then.
        st.session_state[Keys.PLACE_CLICK] = point
        st.session_state[Keys.W_PLACE_LAT] = round(float(point["lat"]), 6)
        st.session_state[Keys.W_PLACE_LON] = round(float(point["lng"]), 6)
    _new_place_form(ws)
    if places is not None:
        _remove_places(ws, places)


def coverage_panel(ws: Workspace) -> None:
    """Which priority zones have candidate places, of which kinds; those without, named."""
    table = cached_coverage(data_key(ws))
    if table.empty:
        return
    missing = coverage_notes(table, limit=len(table))
    for note in missing:
        st.warning(note[0].upper() + note[1:])
    covered = int((table["lieux"] > 0).sum())
    with st.expander(
        f"Couverture des zones prioritaires : {covered} sur {len(table)} ont des lieux candidats"
    ):
        order = ["nom", "genre", "zone", *(c for c in table if c not in ("nom", "genre", "zone"))]
        st.dataframe(
            table[order].rename(
                columns={
                    "zone": "Code zone",
                    "nom": "Zone",
                    "genre": "Genre",
                    "lieux": "Lieux",
                    "types": "Types de lieux",
                    "partenaires": "Dont partenaires",
                }
            ),
            hide_index=True,
        )


_EMPTY_FORM = {
    Keys.W_PLACE_NAME: "",
    Keys.W_PLACE_HOURS: "",
    Keys.W_PLACE_LAT: None,
    Keys.W_PLACE_LON: None,
}


def _new_place_form(ws: Workspace) -> None:
    with st.form(Keys.W_PLACE_FORM):
        st.markdown("**Nouveau lieu**")
        left, right = st.columns(2)
        name = left.text_input("Nom", key=Keys.W_PLACE_NAME)
        kind = right.selectbox("Type", KINDS, key=Keys.W_PLACE_KIND)
        for key in (Keys.W_PLACE_LAT, Keys.W_PLACE_LON):
            st.session_state.setdefault(key, None)  # empty until a click or typing
        lat = left.number_input("Latitude", -90.0, 90.0, format="%.6f", key=Keys.W_PLACE_LAT)
        lon = right.number_input("Longitude", -180.0, 180.0, format="%.6f", key=Keys.W_PLACE_LON)
        hours = st.text_input(
            "Présence (facultatif)",
            key=Keys.W_PLACE_HOURS,
            placeholder="We 14:00-18:00; Sa 10:00-12:00",
            help="Quand on y trouve du monde, horaires au format OpenStreetMap ; vide : toujours.",
        )
        left, right = st.columns(2)
        duration = left.number_input("Durée (min)", 10, 480, 45, 5, key=Keys.W_PLACE_DURATION)
        priority = right.number_input("Priorité", 0.1, 5.0, 1.0, 0.1, key=Keys.W_PLACE_PRIORITY)
        sent = st.form_submit_button("Ajouter le lieu", icon=":material/add_location:")
    if not sent:
        return
    try:
        place = new_place(
            ws,
            name=name,
            kind=kind,
            lon=lon,
            lat=lat,
            hours=hours,
            duration=int(duration),
            priority=float(priority),
        )
        add_places(ws, place, source="lieux créés sur la page Tournées")
    except TerritoryError as exc:
        st.error(f"Lieu non ajouté : {exc}")
    else:
        code = str(place["zone"].iloc[0])
        name = commune_names(ws).get(code, code)
        flash(f"Lieu « {place['nom'].iloc[0]} » ajouté (commune {name}).", reset=_EMPTY_FORM)


def _remove_places(ws: Workspace, places: gpd.GeoDataFrame) -> None:
    """Remove stored places, each shown by its name, kind and commune (never its id)."""
    communes = commune_names(ws)
    labels = {
        str(i): f"{n} ({k}, {communes.get(str(z), str(z))})"
        for i, n, k, z in zip(
            places["id"],
            places["nom"].fillna(""),
            places["type"].fillna(""),
            places["zone"].fillna(""),
            strict=True,
        )
    }
    chosen = st.multiselect(
        "Retirer des lieux",
        list(labels),
        format_func=labels.__getitem__,
        key=Keys.W_PLACES_REMOVE,
    )
    if chosen and st.button("Retirer", icon=":material/delete:", key=Keys.W_PLACES_REMOVE_BUTTON):
        try:
            left = remove_places(ws, chosen)
        except TerritoryError as exc:
            st.error(f"Lieux non retirés : {exc}")
        else:
            flash(
                f"{len(chosen)} lieu(x) retiré(s), {left} restant(s).",
                reset={Keys.W_PLACES_REMOVE: []},
            )
