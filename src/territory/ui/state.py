"""Session state through one keys class and one initialiser.

Widget keys (``W_…``) differ from state keys so that a widget never owns state the
other pages rely on.
"""

from __future__ import annotations

import streamlit as st

from territory.settings import Settings

__all__ = ["Keys", "init_session_state"]


class Keys:
    """Names of the values kept in ``st.session_state``."""

    WORKSPACE = "workspace_path"
    SELECTED_ZONE = "selected_zone"
    SELECTED_MAP = "selected_map"  # the map SELECTED_ZONE was clicked on (its token)
    CLICKED_ZONE = "clicked_zone"  # the map's last click (a card chosen beside it stays)
    BASEMAP = "basemap"
    HOTSPOTS = "hotspots"  # the Carte page's « Points chauds » overlay
    ACCESS = "access_mode"  # the Carte page's accessibility choropleth: a mode, or None
    TERRITORY = "territory_name"  # None: the whole workspace
    FLASH = "flash_message"  # a success message shown once, after a rerun
    PLACE_CLICK = "place_click"  # the last map click that filled the new place's position
    TEAM_BASE_CLICK = "team_base_click"  # the last map click that filled a team base
    TEAM_BASES = "team_bases"  # team name -> (lon, lat) placed on the map, not saved yet
    TEAM_HOURS = "team_hours"  # team name -> OSM hours from the weekly grid, not saved yet
    PLAN_BASE = "plan_base"  # + "_<week>": the version this session's edits are made on
    IMPORT_WAITING = "import_waiting_sheet"  # a workbook whose sheet the user must pick
    PLAN_PENDING = "plan_pending"  # + "_<week>": an edit refused by a conflict, kept
    PLAN_REFUSED = "plan_refused"  # why a save made in a callback was refused
    W_WORKSPACE = "widget_workspace_path"
    W_WORKSPACE_CHOICE = "widget_workspace_choice"
    W_FETCH_FORM = "widget_fetch_form"
    W_FETCH_DEP = "widget_fetch_departement"
    W_FETCH_EPCI = "widget_fetch_epci"
    W_BASEMAP = "widget_basemap"
    W_HOTSPOTS = "widget_hotspots"
    W_ACCESS = "widget_access_mode"
    W_TERRITORY = "widget_territory"
    # "Données" page: the import form, the programme-territory forms, the batch undo
    W_IMPORT_FORM = "widget_import_form"
    W_IMPORT_FILE = "widget_import_file"
    W_IMPORT_KIND = "widget_import_kind"
    W_IMPORT_VINTAGE = "widget_import_vintage"
    W_IMPORT_LICENCE = "widget_import_licence"
    W_IMPORT_CRS = "widget_import_crs"
    W_IMPORT_ONLINE = "widget_import_online_geocoding"
    W_IMPORT_REPLACE = "widget_import_replace_partners"
    W_IMPORT_NETWORK = "widget_import_network"
    W_IMPORT_SHEET = "widget_import_sheet"
    W_DEFINE_FORM = "widget_define_territory_form"
    W_DEFINE_NAME = "widget_define_territory_name"
    W_DEFINE_EPCI = "widget_define_territory_epci"
    W_DEFINE_COMMUNES = "widget_define_territory_communes"
    W_DEFINE_QPV = "widget_define_territory_qpv"
    W_DELETE_FORM = "widget_delete_territory_form"
    W_DELETE_NAME = "widget_delete_territory_name"
    W_SHARE_TERRITORIES = "widget_share_territories"  # the shareable file's territories
    W_UNDO_FORM = "widget_undo_batch_form"
    W_UNDO_BATCH = "widget_undo_batch"
    W_UNDO_CONFIRM = "widget_undo_batch_confirm"
    W_PURGE_FORM = "widget_purge_form"
    W_PURGE_MONTHS = "widget_purge_months"
    W_PURGE_CONFIRM = "widget_purge_confirm"
    # "Contacts" page: upload, column mapping, density filter
    W_CONTACTS_FILE = "widget_contacts_file"
    W_CONTACTS_FORM = "widget_contacts_form"
    W_CONTACTS_SHEET = "widget_contacts_sheet"
    W_CONTACTS_FIELD = "widget_contacts_field"  # + "_<field>"
    W_CONTACTS_ONLINE = "widget_contacts_online_geocoding"
    W_CONTACTS_FILTER = "widget_contacts_filter"
    W_CONTACTS_VALUE = "widget_contacts_value"  # + "_<filter>"
    # "Où et quand" page
    W_PRIORITY_KIND = "widget_priority_kind"
    W_PRIORITY_WEIGHT = "widget_priority_weight"  # + "_<group>"
    W_PRIORITY_SAVE = "widget_priority_save"
    W_PRIORITY_ZONE = "widget_priority_zone"  # + "_<kind>"
    W_PRIORITY_OPEN = "widget_priority_open"
    W_ZONE_INDICATORS_CSV = "widget_zone_indicators_csv"  # + "_<zone>"
    # "Tournées" page
    W_PLAN_WEEK = "widget_plan_week"
    W_PLAN_RUN = "widget_plan_run"
    W_PLAN_EDIT = "widget_plan_edit"  # + "_<week>_<version>"
    W_PLAN_SAVE = "widget_plan_save"
    W_PLAN_DAY = "widget_plan_day"
    W_PLAN_TEAM = "widget_plan_team"
    W_PLAN_RELOAD = "widget_plan_reload"
    W_PLAN_EMPTY = "widget_plan_empty"
    W_PLAN_REPLAY = "widget_plan_replay"
    W_PLAN_DROP = "widget_plan_drop"
    W_PLAN_RESTORE_VERSION = "widget_plan_restore_version"
    W_PLAN_RESTORE = "widget_plan_restore"
    W_PLAN_HISTORY_CSV = "widget_plan_history_csv"
    W_PLAN_TERRITORY = "widget_plan_territory"
    W_PLAN_OUTSIDE = "widget_plan_outside_sector"
    W_PLAN_HISTORY_OPEN = "widget_plan_history_open"  # the panels run only when open
    W_TEAMS_OPEN = "widget_teams_open"
    W_FEEDBACK_OPEN = "widget_feedback_open"
    W_TEAMS_EDIT = "widget_teams_edit"
    W_TEAMS_SAVE = "widget_teams_save"
    W_TEAMS_ONLINE = "widget_teams_online_geocoding"
    W_TEAM_BASE_SHOW = "widget_team_base_show"
    W_TEAM_BASE_TEAM = "widget_team_base_team"
    W_TEAM_BASE_MAP = "widget_team_base_map"  # + "_<workspace version>"
    W_TEAM_BASE_LAT = "widget_team_base_lat"
    W_TEAM_BASE_LON = "widget_team_base_lon"
    W_TEAM_BASE_SET = "widget_team_base_set"
    W_TEAM_GRID_SHOW = "widget_team_grid_show"
    W_TEAM_GRID_TEAM = "widget_team_grid_team"
    W_TEAM_GRID_EDIT = "widget_team_grid_edit"  # + "_<team>"
    W_TEAM_GRID_SET = "widget_team_grid_set"
    W_FEEDBACK_FORM = "widget_feedback_form"
    W_FEEDBACK_VISIT = "widget_feedback_visit"
    W_FEEDBACK_N = "widget_feedback_n"  # + "_<status index>"
    W_PLACES_SHOW = "widget_places_show"
    W_PLACES_MAP = "widget_places_map"  # + "_<workspace version>"
    W_PLACE_FORM = "widget_place_form"
    W_PLACE_NAME = "widget_place_name"
    W_PLACE_KIND = "widget_place_kind"
    W_PLACE_LAT = "widget_place_lat"
    W_PLACE_LON = "widget_place_lon"
    W_PLACE_HOURS = "widget_place_hours"
    W_PLACE_DURATION = "widget_place_duration"
    W_PLACE_PRIORITY = "widget_place_priority"
    W_PLACES_REMOVE = "widget_places_remove"
    W_PLACES_REMOVE_BUTTON = "widget_places_remove_button"
    # "Comparer" page
    W_COMPARE_PROGRAMME = "widget_compare_programme"
    W_COMPARE_PERIOD = "widget_compare_period"
    W_COMPARE_PDF = "widget_compare_pdf"
    W_COMPARE_XLSX = "widget_compare_xlsx"
    W_COMPARE_CSV = "widget_compare_csv"


LAZY_PANELS = (Keys.W_TEAMS_OPEN, Keys.W_FEEDBACK_OPEN, Keys.W_PLAN_HISTORY_OPEN)
"""The panels (lazy expanders) whose content runs only while open: a test opens them."""


def init_session_state() -> None:
    """Set every key once per session (``Settings.workspace`` is the first workspace)."""
    defaults = {
        Keys.WORKSPACE: str(Settings.from_env().workspace),
        Keys.SELECTED_ZONE: None,
        Keys.SELECTED_MAP: None,
        Keys.CLICKED_ZONE: None,
        Keys.BASEMAP: False,
        Keys.HOTSPOTS: False,
        Keys.ACCESS: None,
        Keys.TERRITORY: None,
        Keys.FLASH: None,
        Keys.PLACE_CLICK: None,
        Keys.TEAM_BASE_CLICK: None,
        Keys.IMPORT_WAITING: None,
    }
    for key, value in defaults.items():
        if key not in st.session_state:
            st.session_state[key] = value
