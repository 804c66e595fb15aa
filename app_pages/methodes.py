"""Méthodes page: how every figure is made, with the parameters in force in this workspace."""

import streamlit as st

from territory.ui.common import demo_banner, workspace_or_stop
from territory.ui.loaders import settings
from territory.ui.methodes import METHODS_INTRO, methods_section

ws = workspace_or_stop()
demo_banner(ws)
st.title("Méthodes")
st.caption(METHODS_INTRO)
methods_section(ws, settings=settings())
