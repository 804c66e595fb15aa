"""Session state through one keys class and one initialiser.

Widget keys (``W_…``) differ from state keys so that a widget never owns state the
other pages rely on.
"""

from __future__ import annotations

import os

import streamlit as st

DEFAULT_WORKSPACE = "workspaces/demo.gpkg"


class Keys:
    """Names of the values kept in ``st.session_state``."""

    WORKSPACE = "workspace_path"
    SELECTED_ZONE = "selected_zone"
    BASEMAP = "basemap"
    W_WORKSPACE = "widget_workspace_path"
    W_WORKSPACE_CHOICE = "widget_workspace_choice"
    W_BASEMAP = "widget_basemap"


def init_session_state() -> None:
    """Set every key once per session (``TERRITORY_WORKSPACE`` picks the workspace)."""
    defaults = {
        Keys.WORKSPACE: os.environ.get("TERRITORY_WORKSPACE", DEFAULT_WORKSPACE),
        Keys.SELECTED_ZONE: None,
        Keys.BASEMAP: False,
    }
    for key, value in defaults.items():
        if key not in st.session_state:
            st.session_state[key] = value
